"""patchify / unpatchify (cavmae_mm/models/utils/patchify.py)."""
import torch

from cavmae_mm.models.utils.patchify import patchify, unpatchify


def test_patchify_roundtrip_and_order():
    image = torch.arange(2 * 3 * 32 * 48, dtype=torch.float32).reshape(
        2, 3, 32, 48)
    patches = patchify(image, 16)
    assert patches.shape == (2, 6, 768)
    # Patch 1 is row 0, column 1; its first value is pixel (0, 16), ch 0.
    assert patches[0, 1, 0] == image[0, 0, 0, 16]
    assert patches[0, 1, 1] == image[0, 1, 0, 16]  # channel fastest
    assert torch.equal(unpatchify(patches, 16, 2, 3), image)
