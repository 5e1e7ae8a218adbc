"""Patch layout shared by the encoder tokens and the reconstruction targets."""
import torch


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """``[B, C, H, W]`` → ``[B, (H/p) * (W/p), p * p * C]``.

    Patches are numbered row-major like the patch-embedding tokens; each is
    flattened as (row in patch, column in patch, channel).
    """
    batch, channels, height, width = images.shape
    rows, cols = height // patch_size, width // patch_size
    x = images.reshape(batch, channels, rows, patch_size, cols, patch_size)
    x = torch.einsum('nchpwq->nhwpqc', x)
    return x.reshape(batch, rows * cols, patch_size**2 * channels)


def unpatchify(patches: torch.Tensor, patch_size: int, rows: int,
               cols: int) -> torch.Tensor:
    """Inverse of :func:`patchify`: ``[B, rows * cols, p * p * C]`` →
    ``[B, C, rows * p, cols * p]``."""
    batch = patches.shape[0]
    channels = patches.shape[2] // patch_size**2
    x = patches.reshape(batch, rows, cols, patch_size, patch_size, channels)
    x = torch.einsum('nhwpqc->nchpwq', x)
    return x.reshape(batch, channels, rows * patch_size, cols * patch_size)


def audio_as_image(audio: torch.Tensor) -> torch.Tensor:
    """Spectrogram ``[B, T, F]`` → the ``[B, 1, F, T]`` image the audio
    patch embedding and the audio targets use."""
    return audio.unsqueeze(1).transpose(2, 3)
