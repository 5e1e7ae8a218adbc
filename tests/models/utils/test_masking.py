"""mask_by_noise and structured_noise (cavmae_mm/models/utils/masking.py):
masking invariants, structured stripes."""
import pytest
import torch

from cavmae_mm.models.utils.masking import mask_by_noise, structured_noise


@pytest.mark.parametrize('length,ratio,keep', [(512, 0.75, 128),
                                               (196, 0.75, 49),
                                               (196, 0.9, 19)])
def test_unstructured_masking_invariants(length, ratio, keep):
    tokens = torch.randn(5, length, 8)
    visible, mask, ids_restore = mask_by_noise(tokens, torch.rand(5, length),
                                               ratio)
    assert visible.shape == (5, keep, 8)
    # Same count per sample, 1 = dropped.
    assert torch.equal(mask.sum(1), torch.full((5, ), float(length - keep)))
    # The visible tokens are exactly the unmasked ones.
    for b in range(5):
        kept = tokens[b][mask[b] == 0]
        assert torch.equal(kept.sort(0).values, visible[b].sort(0).values)
    # Restore order: [visible; dropped] un-shuffled gives the input back.
    dropped = torch.stack([tokens[b][mask[b] == 1] for b in range(5)])
    # dropped rows in shuffled order: recover by gathering with ids_shuffle
    ids_shuffle = torch.argsort(ids_restore, dim=1)
    shuffled = torch.gather(
        tokens, 1, ids_shuffle[..., None].expand(-1, -1, 8))
    assert torch.equal(shuffled[:, :keep], visible)
    restored = torch.gather(shuffled, 1,
                            ids_restore[..., None].expand(-1, -1, 8))
    assert torch.equal(restored, tokens)
    assert dropped.shape[1] == length - keep


@pytest.mark.parametrize('mode', ['time', 'freq', 'tf'])
def test_structured_masking_drops_whole_stripes(mode):
    torch.manual_seed(0)
    noise = structured_noise(torch.rand(4, 512), (8, 64), 0.75, mode)
    _, mask, _ = mask_by_noise(torch.randn(4, 512, 2), noise, 0.75)
    grid = mask.reshape(4, 8, 64)
    assert torch.equal(mask.sum(1), torch.full((4, ), 384.))
    full_cols = (grid.sum(1) == 8).sum(1)
    full_rows = (grid.sum(2) == 64).sum(1)
    if mode == 'time':
        assert (full_cols == 48).all()  # 48 of 64 time columns
    elif mode == 'freq':
        assert (full_rows == 6).all()  # 6 of 8 frequency rows
    else:
        # 33 columns + 4 rows = 388 stripe tokens > the 384 budget: the
        # whole budget goes to stripe tokens (as in the reference).
        stripe = noise > 1
        assert torch.equal(stripe.sum(1), torch.full((4, ), 388))
        assert torch.equal((mask.bool() & stripe).sum(1),
                           torch.full((4, ), 384))


def test_mask_ratios_are_drawn_from_the_global_generator():
    from cavmae_mm.models.utils.masking import draw_mask_ratios
    torch.manual_seed(3)
    first = draw_mask_ratios(0.6, 0.9)
    second = draw_mask_ratios(0.6, 0.9)
    torch.manual_seed(3)
    u = torch.rand(2).tolist()
    assert first == (0.6 + 0.3 * u[0], 0.6 + 0.3 * u[1])
    assert first != second  # no re-seeding per call
    assert all(0.6 <= r <= 0.9 for r in first + second)


def _ratio_worker(rank, port, out_dir):
    import os

    import torch.distributed as dist

    from cavmae_mm.models.utils.masking import draw_mask_ratios
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    torch.manual_seed(100 + rank)  # different streams per rank
    ratios = draw_mask_ratios(0.6, 0.9)
    after = torch.rand(1)  # every rank drew the same count
    torch.save(dict(ratios=ratios, after=after), f'{out_dir}/{rank}.pth')
    dist.destroy_process_group()


@pytest.mark.slow
def test_mask_ratios_are_rank_zeros_on_every_process(tmp_path):
    import torch.multiprocessing as mp

    from .test_dist import _free_port
    mp.spawn(_ratio_worker, args=(_free_port(), str(tmp_path)), nprocs=2,
             join=True)
    ranks = [torch.load(tmp_path / f'{r}.pth') for r in range(2)]
    torch.manual_seed(100)
    u = torch.rand(2).tolist()
    expected = (0.6 + 0.3 * u[0], 0.6 + 0.3 * u[1])
    assert ranks[0]['ratios'] == ranks[1]['ratios'] == expected
    torch.manual_seed(101)
    torch.rand(2)
    assert torch.equal(ranks[1]['after'], torch.rand(1))
