"""AVInfoNCELoss (cavmae_mm/models/losses/av_contrastive_loss.py):
hand-computable cases and the two directions."""
import math

import pytest
import torch
import torch.nn.functional as F

from cavmae_mm.models.losses import AVInfoNCELoss


def test_contrastive_loss_hand_computed():
    # Orthogonal unit embeddings with a permuted pairing.
    audio = torch.tensor([[1., 0.], [0., 1.]])
    visual = torch.tensor([[2., 0.], [0., 3.]])  # norms do not matter
    loss_fn = AVInfoNCELoss(temperature=0.5, loss_weight=1.0)
    loss, acc = loss_fn(audio, visual)
    # S = [[2, 0], [0, 2]]: each column's softmax gives the diagonal
    # probability e^2 / (e^2 + 1).
    expected = -math.log(math.exp(2) / (math.exp(2) + 1))
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert acc.item() == 1.0
    loss_w, _ = AVInfoNCELoss(temperature=0.5, loss_weight=0.01)(audio,
                                                                 visual)
    assert loss_w.item() == pytest.approx(0.01 * expected, rel=1e-6)
    # Swapped pairs: every argmax misses the diagonal.
    _, acc = loss_fn(audio, visual.flip(0))
    assert acc.item() == 0.0


def test_contrastive_directions():
    # An asymmetric case where dim-0 and dim-1 softmaxes differ.
    gen = torch.Generator().manual_seed(0)
    audio = torch.randn(4, 3, generator=gen)
    visual = torch.randn(4, 3, generator=gen)
    S = F.normalize(audio, dim=-1) @ F.normalize(visual, dim=-1).T / 0.05
    col = -torch.diag(F.log_softmax(S, 0)).mean()
    row = -torch.diag(F.log_softmax(S, 1)).mean()
    one, _ = AVInfoNCELoss(loss_weight=1.)(audio, visual)
    both, _ = AVInfoNCELoss(loss_weight=1., bidirectional=True)(
        audio, visual)
    assert one.item() == pytest.approx(col.item(), rel=1e-6)
    assert both.item() == pytest.approx((col + row).item() / 2, rel=1e-6)
    assert col.item() != pytest.approx(row.item(), rel=1e-3)


def _masked_reference(audio, visual, positive, allowed):
    """Per column j: -log(sum_{i pos} e^S_ij / sum_{i allowed} e^S_ij)."""
    S = F.normalize(audio, dim=-1) @ F.normalize(visual, dim=-1).T / 0.05
    losses, hits = [], []
    for j in range(S.shape[1]):
        col = S[:, j].double()
        pos = [i for i in range(S.shape[0]) if positive(i, j)]
        ok = [i for i in range(S.shape[0]) if allowed(i, j)]
        losses.append(-(col[pos].exp().sum() / col[ok].exp().sum()).log())
        best = max(ok, key=lambda i: col[i])
        hits.append(float(best in pos))
    return torch.stack(losses).mean(), sum(hits) / len(hits)


@pytest.mark.parametrize('choice', ['positive', 'negative', 'ignore'])
def test_frames_of_one_clip(choice):
    gen = torch.Generator().manual_seed(1)
    audio, visual = torch.randn(2, 6, 5, generator=gen)
    frames = 3
    same = lambda i, j: i // frames == j // frames  # noqa: E731
    positive = same if choice == 'positive' else (lambda i, j: i == j)
    allowed = (lambda i, j: i == j or not same(i, j)) \
        if choice == 'ignore' else (lambda i, j: True)
    loss, acc = AVInfoNCELoss(loss_weight=1., same_clip_frames=choice)(
        audio, visual, frames_per_clip=frames)
    expected, expected_acc = _masked_reference(audio, visual, positive,
                                               allowed)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert acc.item() == pytest.approx(expected_acc)
    if choice == 'negative':  # the per-frame InfoNCE of CAV-MAE
        plain, _ = AVInfoNCELoss(loss_weight=1.)(audio, visual)
        assert loss.item() == pytest.approx(plain.item(), rel=1e-6)
    both, _ = AVInfoNCELoss(loss_weight=1., same_clip_frames=choice,
                            bidirectional=True)(audio, visual, frames)
    reverse, _ = _masked_reference(visual, audio, positive, allowed)
    assert both.item() == pytest.approx((expected + reverse).item() / 2,
                                        rel=1e-5)


def test_frames_per_clip_errors():
    with pytest.raises(ValueError, match='same_clip_frames'):
        AVInfoNCELoss(same_clip_frames='drop')
    with pytest.raises(ValueError, match='whole number of clips'):
        AVInfoNCELoss()(torch.randn(5, 4), torch.randn(5, 4),
                        frames_per_clip=2)
