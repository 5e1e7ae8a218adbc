"""all_gather_with_grad (cavmae_mm/models/utils/dist.py) through
AVInfoNCELoss(gather_distributed): two gloo processes with batch B each ==
one process with batch 2B."""
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ..conftest import build, randomize_

BATCH = 3  # per rank


def _data(seed=7):
    gen = torch.Generator().manual_seed(seed)
    audio = torch.randn(2 * BATCH, 1024, 128, generator=gen)
    imgs = torch.randn(2 * BATCH, 3, 224, 224, generator=gen)
    noise_a = torch.rand(2 * BATCH, 512, generator=gen)
    noise_v = torch.rand(2 * BATCH, 196, generator=gen)
    return audio, imgs, noise_a, noise_v


def _model(gather):
    return randomize_(build('cavmae_tiny_pretrain', head=dict(
        loss_contrastive=dict(gather_distributed=gather))))


def _losses_and_grads(model, audio, imgs, noise_a, noise_v):
    losses = model(dict(audio=audio, imgs=imgs), mode='loss',
                   noise_a=noise_a, noise_v=noise_v)
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    total.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()
             if p.grad is not None}
    return {k: v.detach() for k, v in losses.items()}, grads


def _worker(rank, port, gather, out_dir):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    torch.set_num_threads(1)
    model = _model(gather)
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    audio, imgs, noise_a, noise_v = _data()
    part = slice(rank * BATCH, (rank + 1) * BATCH)
    losses = ddp(dict(audio=audio[part], imgs=imgs[part]), mode='loss',
                 noise_a=noise_a[part], noise_v=noise_v[part])
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    total.backward()  # DDP averages the gradients over the two ranks
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()
             if p.grad is not None}
    torch.save(dict(losses={k: v.detach() for k, v in losses.items()},
                    grads=grads), f'{out_dir}/rank{rank}.pth')
    dist.destroy_process_group()


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _run_two_ranks(tmp_path, gather):
    mp.spawn(_worker, args=(_free_port(), gather, str(tmp_path)), nprocs=2,
             join=True)
    return [torch.load(tmp_path / f'rank{r}.pth') for r in range(2)]


@pytest.mark.slow
def test_two_ranks_equal_one_process_with_global_batch(tmp_path):
    ranks = _run_two_ranks(tmp_path, gather=True)
    single_losses, single_grads = _losses_and_grads(_model(True), *_data())

    for rank in ranks:
        # Every rank sees the global batch as negatives.
        torch.testing.assert_close(rank['losses']['loss_c'],
                                   single_losses['loss_c'],
                                   rtol=1e-5, atol=0)
        torch.testing.assert_close(rank['losses']['acc_c'],
                                   single_losses['acc_c'])
    for key in ('loss_mae_a', 'loss_mae_v'):
        mean = (ranks[0]['losses'][key] + ranks[1]['losses'][key]) / 2
        torch.testing.assert_close(mean, single_losses[key], rtol=1e-5,
                                   atol=0)
    assert set(ranks[0]['grads']) == set(single_grads)
    for name, grad in single_grads.items():
        for rank in ranks:
            torch.testing.assert_close(rank['grads'][name], grad, rtol=1e-4,
                                       atol=1e-7, msg=name)


@pytest.mark.slow
def test_per_rank_negatives_switch(tmp_path):
    """gather_distributed=False: each rank's InfoNCE uses only its own
    batch, as the reference's DataParallel did."""
    ranks = _run_two_ranks(tmp_path, gather=False)
    audio, imgs, noise_a, noise_v = _data()
    model = _model(False)
    for rank, result in enumerate(ranks):
        part = slice(rank * BATCH, (rank + 1) * BATCH)
        with torch.no_grad():
            local = model(dict(audio=audio[part], imgs=imgs[part]),
                          mode='loss', noise_a=noise_a[part],
                          noise_v=noise_v[part])
        torch.testing.assert_close(result['losses']['loss_c'],
                                   local['loss_c'], rtol=1e-5, atol=0)
    with torch.no_grad():
        global_loss = model(dict(audio=audio, imgs=imgs), mode='loss',
                            noise_a=noise_a, noise_v=noise_v)['loss_c']
    assert not torch.allclose(ranks[0]['losses']['loss_c'], global_loss)
