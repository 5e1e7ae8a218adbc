"""reconstruct() and plot_reconstruction(): masks, pasting, norm_pix
un-normalization and the written figure."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image

import cavmae_mm  # noqa: F401
from cavmae_mm.visualization import plot_reconstruction, reconstruct
from cavmae_mm.visualization.reconstruction import _unnormalize_patches
from mmaction.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_PRETRAIN = osp.join(ROOT, 'configs/_base_/models/cavmae_tiny_pretrain.py')


def build(norm_pix=True, mae_weight=1.0):
    init_default_scope('mmaction')
    cfg = Config.fromfile(TINY_PRETRAIN)
    cfg.model.head.loss_mae.update(norm_pix=norm_pix, loss_weight=mae_weight)
    if mae_weight == 0:
        cfg.model.neck = None
    torch.manual_seed(0)
    return MODELS.build(cfg.model).eval()


def inputs(batch=2):
    gen = torch.Generator().manual_seed(1)
    return dict(audio=torch.randn(batch, 1024, 128, generator=gen),
                imgs=torch.randn(batch, 1, 3, 224, 224, generator=gen))


@pytest.mark.parametrize('norm_pix', [True, False])
def test_masks_paste_and_shapes(norm_pix):
    model = build(norm_pix)
    batch = inputs()
    result = reconstruct(model, batch)
    assert result['norm_pix'] is norm_pix
    assert result['audio'].shape == (2, 1, 128, 1024)  # [B, 1, F, T]
    assert result['audio_mask'].shape == (2, 128, 1024)
    assert result['imgs'].shape == (2, 3, 224, 224)
    assert result['imgs_mask'].shape == (2, 224, 224)
    for name in ('audio', 'imgs'):
        mask = result[f'{name}_mask']
        assert set(mask.unique().tolist()) == {0.0, 1.0}
        assert mask.float().mean().item() == pytest.approx(0.75)
        assert result[f'{name}_recon'].shape == result[name].shape
        mask = mask.unsqueeze(1).expand_as(result[name]).bool()
        pasted = result[f'{name}_pasted']
        # visible patches are the input, masked ones the reconstruction
        assert torch.equal(pasted[~mask], result[name][~mask])
        assert torch.equal(pasted[mask], result[f'{name}_recon'][mask])
    # the input spectrogram is the model input, frequency-major
    torch.testing.assert_close(result['audio'][:, 0],
                               batch['audio'].transpose(1, 2))


def test_same_noise_same_masks():
    model = build()
    noise_a, noise_v = torch.rand(1, 512), torch.rand(1, 196)
    first = reconstruct(model, inputs(1), noise_a, noise_v)
    second = reconstruct(model, inputs(1), noise_a, noise_v)
    assert torch.equal(first['audio_mask'], second['audio_mask'])
    assert torch.equal(first['imgs_recon'], second['imgs_recon'])


def test_norm_pix_unnormalization_uses_visible_statistics():
    gen = torch.Generator().manual_seed(0)
    target = torch.randn(2, 6, 12, generator=gen) * 3 + 5  # [B, L, P]
    mask = torch.tensor([[0, 0, 1, 0, 1, 1], [1, 0, 0, 0, 0, 1]]).float()
    mean = target.mean(-1, keepdim=True)
    var = target.var(-1, keepdim=True)
    perfect = (target - mean) / (var + 1e-6)**.5  # what norm_pix targets
    out = _unnormalize_patches(perfect, target, mask)
    visible = ~mask.bool()
    torch.testing.assert_close(out[visible], target[visible])
    for b in range(2):
        vis_mean = mean[b][visible[b]].mean()
        vis_var = var[b][visible[b]].mean()
        for patch in torch.nonzero(mask[b]).flatten():
            torch.testing.assert_close(
                out[b, patch], perfect[b, patch] * (vis_var + 1e-6)**.5 +
                vis_mean)


def test_model_without_decoder_is_refused():
    with pytest.raises(ValueError, match='no decoder'):
        reconstruct(build(mae_weight=0.0), inputs(1))


@pytest.mark.parametrize('norm_pix', [True, False])
def test_plot_writes_png_and_says_norm_pix(tmp_path, monkeypatch, norm_pix):
    import matplotlib.figure
    captions = []
    original = matplotlib.figure.Figure.suptitle

    def record(self, text, **kwargs):
        captions.append(text)
        return original(self, text, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, 'suptitle', record)
    result = reconstruct(build(norm_pix), inputs(2))
    out = plot_reconstruction(result, 1, str(tmp_path / 'clip.png'),
                              title='clip', dpi=30)
    with Image.open(out) as image:
        image.load()
        assert image.format == 'PNG' and image.size == (16 * 30, 6 * 30)
        assert np.asarray(image.convert('RGB')).std() > 10
    assert captions[0].startswith('clip\n')
    if norm_pix:
        assert 'norm_pix_loss' in captions[0]
        assert 'visible patches' in captions[0]
    else:
        assert 'pixel-space' in captions[0]
