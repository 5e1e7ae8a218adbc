"""In-painting figures of a pre-trained CAV-MAE (the reference's Fig. 3)."""
from typing import Dict, Optional, Sequence

import numpy as np
import torch

from ..models.utils.patchify import audio_as_image, patchify, unpatchify

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _unnormalize_patches(pred: torch.Tensor, target: torch.Tensor,
                         mask: torch.Tensor) -> torch.Tensor:
    """Map ``norm_pix`` predictions back to input values.

    A masked patch's own mean and variance are unknown to the model, so we
    use the visible patches' statistics: the mean over visible patches of
    each patch's mean and of each patch's (unbiased) variance, per sample.
    Visible patches use their own statistics.

    Args:
        pred (torch.Tensor): ``[B, L, P]`` in per-patch normalized units.
        target (torch.Tensor): ``[B, L, P]`` input patches.
        mask (torch.Tensor): ``[B, L]``, 1 = masked.
    """
    mean = target.mean(-1, keepdim=True)  # [B, L, 1]
    var = target.var(-1, keepdim=True)
    visible = (1 - mask)[..., None]  # [B, L, 1]
    count = visible.sum(1, keepdim=True).clamp(min=1)
    visible_mean = (mean * visible).sum(1, keepdim=True) / count
    visible_var = (var * visible).sum(1, keepdim=True) / count
    mean = torch.where(mask[..., None].bool(), visible_mean, mean)
    var = torch.where(mask[..., None].bool(), visible_var, var)
    return pred * (var + 1e-6)**.5 + mean


@torch.no_grad()
def reconstruct(model, inputs: Dict[str, torch.Tensor],
                noise_a: Optional[torch.Tensor] = None,
                noise_v: Optional[torch.Tensor] = None
                ) -> Dict[str, torch.Tensor]:
    """Mask, encode, decode and paste the reconstruction into the input.

    Args:
        model (CAVMAE): A pre-training model with a decoder.
        inputs (dict): Preprocessed ``audio [B, T, F]`` and
            ``imgs [B, (1,) 3, H, W]`` (after the data preprocessor).
        noise_a, noise_v (torch.Tensor, optional): Masking noise.

    Returns:
        dict: ``audio`` / ``imgs`` (inputs), ``audio_mask`` ``[B, F, T]`` /
        ``imgs_mask`` ``[B, H, W]`` (1 = masked), ``audio_recon`` /
        ``imgs_recon`` (predictions un-normalized to input units),
        ``audio_pasted`` / ``imgs_pasted`` (visible input + reconstructed
        masked patches) and ``norm_pix`` (bool).
    """
    if model.neck is None:
        raise ValueError('this model has no decoder (reconstruction weight '
                         '0): nothing to visualize')
    out = model(inputs, mode='tensor', noise_a=noise_a, noise_v=noise_v)
    audio_image = audio_as_image(out['audio_input'])  # [B, 1, F, T]
    imgs = out['imgs_input']  # [B, 3, H, W]
    p = model.head.patch_size
    norm_pix = model.head.loss_mae.norm_pix
    result = dict(norm_pix=norm_pix)
    for name, image, pred, mask in (('audio', audio_image, out['pred_a'],
                                     out['mask_a']),
                                    ('imgs', imgs, out['pred_v'],
                                     out['mask_v'])):
        rows, cols = image.shape[2] // p, image.shape[3] // p
        target = patchify(image, p)
        pred = pred.float()
        if norm_pix:
            pred = _unnormalize_patches(pred, target, mask)
        mask_patches = mask[..., None].expand_as(target)
        pasted = target * (1 - mask_patches) + pred * mask_patches
        result[name] = image
        result[f'{name}_recon'] = unpatchify(pred, p, rows, cols)
        result[f'{name}_pasted'] = unpatchify(pasted, p, rows, cols)
        result[f'{name}_mask'] = unpatchify(mask_patches, p, rows,
                                            cols)[:, 0]
    return result


def _to_rgb(image: torch.Tensor) -> np.ndarray:
    """Normalized ``[3, H, W]`` → ``[H, W, 3]`` in [0, 1]."""
    mean = torch.tensor(IMAGENET_MEAN)[:, None, None]
    std = torch.tensor(IMAGENET_STD)[:, None, None]
    return (image.cpu() * std + mean).clamp(0, 1).permute(1, 2, 0).numpy()


def plot_reconstruction(result: Dict[str, torch.Tensor], index: int,
                        out_file: str, title: Optional[str] = None,
                        dpi: int = 100) -> str:
    """Write one clip's figure: rows audio / frame; columns input, masked
    input (the mask: masked patches blank / grey), reconstruction,
    reconstruction + visible. The caption says whether the model predicts
    per-patch normalized values (``norm_pix``) that were un-normalized with
    the visible patches' statistics.

    Args:
        result (dict): Output of :func:`reconstruct`.
        index (int): Sample of the batch to draw.
        out_file (str): Image file to write (PNG by its extension).
        title (str, optional): First caption line, e.g. the video id.
            Defaults to None.
        dpi (int): Defaults to 100.

    Returns:
        str: ``out_file``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    columns: Sequence[str] = ('input', 'masked input', 'reconstruction',
                              'reconstruction + visible')
    fig, axes = plt.subplots(2, 4, figsize=(16, 6),
                             gridspec_kw=dict(height_ratios=[1, 2]))
    spec = result['audio'][index, 0].cpu()  # [F, T]
    spec_mask = result['audio_mask'][index].cpu()
    vmin, vmax = spec.min().item(), spec.max().item()
    audio_panels = (spec, spec.masked_fill(spec_mask.bool(), float('nan')),
                    result['audio_recon'][index, 0].cpu(),
                    result['audio_pasted'][index, 0].cpu())
    img_mask = result['imgs_mask'][index].cpu()[..., None].numpy()
    frame = _to_rgb(result['imgs'][index])
    img_panels = (frame, frame * (1 - img_mask) + 0.5 * img_mask,
                  _to_rgb(result['imgs_recon'][index]),
                  _to_rgb(result['imgs_pasted'][index]))
    audio_masked = 100 * spec_mask.float().mean().item()
    img_masked = 100 * float(img_mask.mean())
    for col, name in enumerate(columns):
        axes[0, col].imshow(audio_panels[col].numpy(), origin='lower',
                            aspect='auto', vmin=vmin, vmax=vmax,
                            cmap='magma')
        axes[1, col].imshow(img_panels[col])
        masked = name == 'masked input'
        axes[0, col].set_title(f'audio: {name}' + (
            f' ({audio_masked:.0f} % masked)' if masked else ''))
        axes[1, col].set_title(f'frame: {name}' + (
            f' ({img_masked:.0f} % masked)' if masked else ''))
        for row in range(2):
            axes[row, col].set_xticks([])
            axes[row, col].set_yticks([])
        axes[0, col].set_xlabel('time')
    axes[0, 0].set_ylabel('mel bin')
    note = ('norm_pix_loss model: masked patches un-normalized with the '
            'visible patches\' mean and variance'
            if result['norm_pix'] else 'pixel-space reconstruction')
    fig.suptitle((title + '\n' if title else '') + note, fontsize=10)
    fig.tight_layout()
    fig.savefig(out_file, dpi=dpi)
    plt.close(fig)
    return out_file
