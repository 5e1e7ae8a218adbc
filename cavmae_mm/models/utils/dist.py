"""Gathering embeddings across processes with gradients."""
import torch
import torch.distributed as dist
from mmengine.dist import get_world_size


class _AllGatherWithGrad(torch.autograd.Function):
    """``all_gather`` whose backward all-reduces (sums) the incoming gradient
    and returns this rank's slice.

    Every rank computes the same global loss from the gathered tensor, and
    DDP averages parameter gradients over ranks; summing the gathered
    tensor's gradient over ranks first makes the result equal to the
    gradient of one process holding the global batch. (MMPretrain's
    ``GatherLayer`` returns only the local slice without the sum.)
    """

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        ctx.batch = tensor.shape[0]
        ctx.rank = dist.get_rank()
        gathered = [torch.empty_like(tensor)
                    for _ in range(dist.get_world_size())]
        dist.all_gather(gathered, tensor.contiguous())
        return torch.cat(gathered, dim=0)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        grad = grad_output.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start = ctx.rank * ctx.batch
        return grad[start:start + ctx.batch]


def all_gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate ``tensor`` ``[B, ...]`` of all ranks → ``[W * B, ...]``
    (rank order); identity in a single process. Every rank must pass the
    same batch size."""
    if get_world_size() == 1:
        return tensor
    return _AllGatherWithGrad.apply(tensor)
