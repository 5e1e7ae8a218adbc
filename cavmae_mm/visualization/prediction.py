"""A classification figure: the clip's spectrogram and frame beside the
model's top-k classes (and the ground truth)."""
from typing import Optional, Sequence

import numpy as np
import torch


def plot_prediction(audio: Optional[torch.Tensor],
                    frame: Optional[torch.Tensor],
                    scores: torch.Tensor,
                    class_names: Sequence[str],
                    out_file: str,
                    gt_labels: Sequence[int] = (),
                    title: Optional[str] = None,
                    topk: int = 5,
                    dpi: int = 100) -> str:
    """Write one clip's figure: spectrogram, frame and a bar chart of the
    ``topk`` scores, ground-truth classes marked.

    Args:
        audio (torch.Tensor, optional): Fbank ``[T, F]`` (None: no audio).
        frame (torch.Tensor, optional): ``[3, H, W]`` uint8 or in [0, 255]
            (None: no frame).
        scores (torch.Tensor): ``[num_classes]`` class scores.
        class_names (Sequence[str]): Name of each class.
        out_file (str): Image file to write.
        gt_labels (Sequence[int]): Ground-truth class indices.
        title (str, optional): Caption, e.g. the video id.
        topk (int): Bars. Defaults to 5.
        dpi (int): Defaults to 100.

    Returns:
        str: ``out_file``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    scores = scores.detach().float().cpu()
    k = min(topk, scores.numel())
    values, indices = scores.topk(k)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4),
                             gridspec_kw=dict(width_ratios=[2, 1.2, 1.5]))
    if audio is not None:
        axes[0].imshow(audio.detach().float().cpu().T.numpy(),
                       origin='lower', aspect='auto', cmap='magma')
        axes[0].set_xlabel('time')
        axes[0].set_ylabel('mel bin')
    axes[0].set_title('audio' if audio is not None else 'no audio')
    if frame is not None:
        image = frame.detach().cpu().float().clamp(0, 255)
        axes[1].imshow(image.permute(1, 2, 0).numpy().astype(np.uint8))
    axes[1].set_title('frame' if frame is not None else 'no frame')
    for ax in axes[:2]:
        ax.set_xticks([])
        ax.set_yticks([])

    def name(index: int) -> str:  # a head wider than the label list
        index = int(index)
        return str(class_names[index]) if index < len(class_names) else \
            f'class {index}'

    gt = {int(label) for label in gt_labels}
    names = [('* ' if int(i) in gt else '') + name(i) for i in indices]
    colors = ['tab:green' if int(i) in gt else 'tab:blue' for i in indices]
    axes[2].barh(range(k)[::-1], values.numpy(), color=colors)
    axes[2].set_yticks(range(k)[::-1], names)
    axes[2].set_title(f'top-{k} scores (* ground truth)')
    truth = ', '.join(name(i) for i in sorted(gt))
    fig.suptitle((title + ': ' if title else '') +
                 (f'ground truth {truth}' if truth else 'no label'),
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(out_file, dpi=dpi)
    plt.close(fig)
    return out_file
