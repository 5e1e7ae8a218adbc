"""FSDP auto-wrap policy for CAV-MAE (MMEngine's ``FSDPStrategy``)."""
import torch.nn as nn
from mmengine.registry import FUNCTIONS

from ..models.utils.transformer import CAVMAEBlock


def cavmae_block_wrap_policy(module: nn.Module, recurse: bool,
                             nonwrapped_numel: int) -> bool:
    """Make each transformer block (encoder and decoder) an FSDP unit; the
    rest (embeddings, norms, heads) stays with the root.

    The models call their backbone's methods other than ``forward``
    (``forward_pretrain``, ``forward_tokens``), which FSDP does not
    intercept, so the backbone itself must not be a unit; blocks are only
    ever called through ``forward``. Use it in a config as
    ``strategy.model_wrapper.auto_wrap_policy='cavmae_block_wrap_policy'``.
    """
    if recurse:
        return True
    return isinstance(module, CAVMAEBlock)


FUNCTIONS.register_module(module=cavmae_block_wrap_policy)
