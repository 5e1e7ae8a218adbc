"""CAVMAE: wiring of backbone, neck and head."""
import torch

from ..conftest import build


def test_decoder_gets_the_visible_count_as_a_python_int(monkeypatch):
    """No device sync per step: the split of the joint sequence comes from
    the backbone's configuration, not from the mask tensor."""
    model = build('cavmae_tiny_pretrain',
                  backbone=dict(audio_length=256, img_size=32,
                                mask_ratio_a=0.5),
                  neck=dict(grid_a=(8, 16), grid_v=(2, 2)))
    seen = []
    neck_forward = model.neck.forward

    def spy(*args, num_visible_a):
        seen.append(num_visible_a)
        return neck_forward(*args, num_visible_a=num_visible_a)

    monkeypatch.setattr(model.neck, 'forward', spy)
    def no_sync(*args):
        raise AssertionError('tensor read back on the host')

    for name in ('item', '__int__', 'tolist'):  # what a sync would call
        monkeypatch.setattr(torch.Tensor, name, no_sync)
    with torch.no_grad():
        model(dict(audio=torch.randn(2, 256, 128),
                   imgs=torch.randn(2, 1, 3, 32, 32)), mode='tensor')
    assert seen == [64] and type(seen[0]) is int
