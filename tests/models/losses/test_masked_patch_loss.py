"""MaskedPatchReconstructionLoss
(cavmae_mm/models/losses/masked_patch_loss.py): masked patches only,
norm_pix."""
import pytest
import torch

from cavmae_mm.models.losses import MaskedPatchReconstructionLoss


def test_reconstruction_loss_on_masked_patches_only():
    pred = torch.zeros(1, 4, 3)
    target = torch.tensor([[[1., 1., 1.], [2., 2., 2.], [0., 0., 0.],
                            [3., 3., 3.]]])
    mask = torch.tensor([[1., 0., 1., 0.]])
    loss = MaskedPatchReconstructionLoss(norm_pix=False)(pred, target, mask)
    assert loss.item() == pytest.approx((1 + 0) / 2)
    # norm_pix standardizes each patch with the unbiased variance.
    target = torch.tensor([[[1., 2., 3.]]])
    loss = MaskedPatchReconstructionLoss(norm_pix=True)(
        torch.zeros(1, 1, 3), target, torch.ones(1, 1))
    expected = ((torch.tensor([-1., 0., 1.]) / (1 + 1e-6)**.5)**2).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


def test_reconstruction_loss_is_zero_when_nothing_is_masked():
    pred = torch.randn(2, 4, 3, requires_grad=True)
    loss = MaskedPatchReconstructionLoss()(pred, torch.randn(2, 4, 3),
                                           torch.zeros(2, 4))
    assert loss.item() == 0
    loss.backward()
    assert torch.equal(pred.grad, torch.zeros_like(pred))
