"""The transformer block's stochastic depth is mmcv's ``DropPath``, which
computes the reference's (timm 0.4's) formula."""
import torch

from cavmae_mm.models.utils.transformer import CAVMAEBlock


def test_drop_path_is_the_reference_formula():
    block = CAVMAEBlock(8, 2, drop_path=0.25).train()
    x = torch.randn(64, 5, 8)
    torch.manual_seed(0)
    out = block.drop_path(x)
    # timm 0.4 (the reference): x / keep * floor(keep + U[0, 1)) per sample
    torch.manual_seed(0)
    keep = 0.75
    kept = (keep + torch.rand(64, 1, 1)).floor()
    assert torch.equal(out, x.div(keep) * kept)
    assert 0 < int(kept.sum()) < 64  # some samples dropped, some kept
    # identity in eval and at rate 0
    assert block.eval().drop_path(x) is x
    assert CAVMAEBlock(8, 2).train().drop_path(x) is x
