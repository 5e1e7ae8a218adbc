"""plot_prediction: the classification figure."""
import torch
from PIL import Image

from cavmae_mm.visualization import plot_prediction


def test_prediction_figure_with_and_without_modalities(tmp_path):
    scores = torch.tensor([0.1, 0.7, 0.05, 0.15])
    frame = torch.zeros(3, 32, 48, dtype=torch.uint8)
    frame[0] = 255  # red
    out = plot_prediction(torch.randn(64, 16), frame, scores,
                          ['dog', 'rain'], str(tmp_path / 'a.png'),
                          gt_labels=[1], title='clip', topk=3)
    with Image.open(out) as image:
        assert image.size == (1500, 400)
        pixels = image.convert('RGB').getdata()
        assert (255, 0, 0) in set(pixels)  # the frame is drawn
    # No audio, no frame, a class beyond the names: still a figure.
    out = plot_prediction(None, None, scores, [], str(tmp_path / 'b.png'),
                          gt_labels=[3])
    with Image.open(out) as image:
        assert image.size == (1500, 400)
