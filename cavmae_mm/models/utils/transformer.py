"""The CAV-MAE transformer block (one set of weights, three sets of norms)
and the patch embedding."""
from typing import Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn.bricks.drop import DropPath
from torch.utils.checkpoint import checkpoint

# Which LayerNorm pair a block uses for each kind of input sequence.
_NORM_SUFFIX = {None: '', 'joint': '', 'a': '_a', 'v': '_v'}


class Attention(nn.Module):
    """Multi-head softmax self-attention with one ``qkv`` projection.

    Args:
        dim (int): Token channels.
        num_heads (int): Attention heads.
        qkv_bias (bool): Bias in the ``qkv`` projection. Defaults to True.
        fused (bool | str): True: ``F.scaled_dot_product_attention``;
            False: the explicit softmax formula of the reference; ``'auto'``:
            under CPU bfloat16 the explicit formula computed a few
            (batch, head) pairs at a time (see :func:`chunked_attention`;
            PyTorch's CPU flash kernel is 1.3-7x slower there, most of all
            in backward, measured with torch 2.9 on AVX512-BF16), and the
            fused kernel otherwise. Defaults to ``'auto'``.
    """

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True,
                 fused: Union[bool, str] = 'auto') -> None:
        super().__init__()
        assert dim % num_heads == 0, \
            f'dim {dim} is not divisible by num_heads {num_heads}'
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim**-0.5
        self.fused = fused
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def _use_fused(self, x: torch.Tensor) -> bool:
        if self.fused != 'auto':
            return bool(self.fused)
        if x.device.type != 'cpu':
            return True
        cpu_bf16 = x.dtype == torch.bfloat16 or (
            torch.is_autocast_enabled('cpu')
            and torch.get_autocast_dtype('cpu') == torch.bfloat16)
        return not cpu_bf16

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, dim = x.shape
        qkv = self.qkv(x).reshape(batch, length, 3, self.num_heads,
                                  self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # each [B, heads, L, head_dim]
        if self._use_fused(x):
            x = F.scaled_dot_product_attention(q, k, v)
        elif self.fused == 'auto':
            x = chunked_attention(q, k, v, self.scale)
        else:
            x = explicit_attention(q, k, v, self.scale)
        x = x.transpose(1, 2).reshape(batch, length, dim)
        return self.proj(x)


def explicit_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                       scale: float) -> torch.Tensor:
    """``softmax(q k^T * scale) v`` as the reference computes it (timm 0.4's
    ``Attention``: the ``L x L`` scores are scaled after the product); all
    ``[..., L, head_dim]``."""
    attn = (q @ k.transpose(-2, -1)) * scale  # [..., L, L]
    return attn.softmax(dim=-1) @ v


def _query_scaled_attention(q: torch.Tensor, k: torch.Tensor,
                            v: torch.Tensor, scale: float) -> torch.Tensor:
    """:func:`explicit_attention` with ``q`` scaled before the product: one
    pass over ``[L, head_dim]`` instead of over the ``L x L`` scores."""
    attn = (q * scale) @ k.transpose(-2, -1)  # [..., L, L]
    return attn.softmax(dim=-1) @ v


#: Score-matrix elements per chunk of :func:`chunked_attention`: 2M bf16
#: elements (4 MB) stay in the last-level cache of a small CPU slice.
CHUNK_ELEMENTS = 2**21


def chunked_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                      scale: float,
                      chunk_elements: int = CHUNK_ELEMENTS) -> torch.Tensor:
    """:func:`explicit_attention` over a few (batch, head) pairs at a time.

    The same formula (with ``q`` scaled first, not the scores), but each
    chunk's ``L x L`` scores are written, soft-maxed and multiplied by ``v``
    while they are still in cache instead of streaming the whole
    ``[B, heads, L, L]`` tensor through memory three times. On the CPU this
    makes the decoder's attention (16 heads, 708 tokens) 1.5-2.5x faster in
    bfloat16; short sequences form one chunk.

    Args: q, k, v ``[B, heads, L, head_dim]``; scale the score factor;
    chunk_elements the score elements per chunk.
    """
    batch, heads, length, head_dim = q.shape
    per_chunk = max(1, chunk_elements // (length * k.shape[-2]))
    if per_chunk >= batch * heads:
        return _query_scaled_attention(q, k, v, scale)
    q, k, v = (t.flatten(0, 1) for t in (q, k, v))
    out = torch.cat([
        _query_scaled_attention(qc, kc, vc, scale) for qc, kc, vc in zip(
            q.split(per_chunk), k.split(per_chunk), v.split(per_chunk))
    ])
    return out.view(batch, heads, length, -1)


class PatchEmbed(nn.Module):
    """Non-overlapping ``patch x patch`` convolution → ``[B, L, dim]``."""

    def __init__(self, in_channels: int, dim: int, patch_size: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, patch_size, patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # [B, C, H, W] -> [B, dim, H/p, W/p] -> [B, L, dim], row-major
        return self.proj(x).flatten(2).transpose(1, 2)


class Mlp(nn.Module):
    """``fc1`` → exact GELU → ``fc2``; our own (not mmcv's ``FFN``, whose
    ``layers.0.0`` / ``layers.1`` names would not map the reference
    checkpoints' ``mlp.fc1`` / ``mlp.fc2`` keys)."""

    def __init__(self, dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class CAVMAEBlock(nn.Module):
    """Pre-norm transformer block with per-modality LayerNorms.

    ``x = x + attn(norm1(x)); x = x + mlp(norm2(x))`` where the norm pair is
    ``norm1/norm2`` for a joint audio-visual sequence, ``norm1_a/norm2_a``
    for audio alone and ``norm1_v/norm2_v`` for visual alone; attention and
    MLP weights are shared by all three.

    The reference stores all three pairs in every block, including the
    modality-specific and decoder blocks that only ever use ``norm1/norm2``.
    We keep them so reference checkpoints load key for key, but freeze them
    where ``modality_norms=False`` so that they receive no updates and DDP
    does not wait for their gradients.

    Args:
        dim (int): Token channels.
        num_heads (int): Attention heads.
        mlp_ratio (float): MLP hidden size / dim. Defaults to 4.
        qkv_bias (bool): Defaults to True.
        drop_path (float): Stochastic depth rate. Defaults to 0.
        norm_eps (float): LayerNorm eps. Defaults to 1e-5 (PyTorch's).
        modality_norms (bool): Whether the ``_a``/``_v`` norms are used
            (and trainable). Defaults to True.
        fused_attn (bool | str): See :class:`Attention`.
            Defaults to ``'auto'``.
    """

    def __init__(self,
                 dim: int,
                 num_heads: int,
                 mlp_ratio: float = 4.,
                 qkv_bias: bool = True,
                 drop_path: float = 0.,
                 norm_eps: float = 1e-5,
                 modality_norms: bool = True,
                 fused_attn: Union[bool, str] = 'auto') -> None:
        super().__init__()
        self.modality_norms = modality_norms
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.norm1_a = nn.LayerNorm(dim, eps=norm_eps)
        self.norm1_v = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = Attention(dim, num_heads, qkv_bias, fused=fused_attn)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.norm2_a = nn.LayerNorm(dim, eps=norm_eps)
        self.norm2_v = nn.LayerNorm(dim, eps=norm_eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        if not modality_norms:
            for norm in (self.norm1_a, self.norm1_v, self.norm2_a,
                         self.norm2_v):
                norm.requires_grad_(False)

    def forward(self, x: torch.Tensor,
                modality: Optional[str] = None) -> torch.Tensor:
        """Args: x ``[B, L, dim]``; modality ``None``/``'joint'``, ``'a'``
        or ``'v'`` selects the norm pair."""
        suffix = _NORM_SUFFIX[modality]
        if suffix and not self.modality_norms:
            raise ValueError('this block was built with modality_norms=False')
        norm1 = getattr(self, 'norm1' + suffix)
        norm2 = getattr(self, 'norm2' + suffix)
        x = x + self.drop_path(self.attn(norm1(x)))
        x = x + self.drop_path(self.mlp(norm2(x)))
        return x


def run_blocks(tokens: torch.Tensor, blocks, modality: Optional[str] = None,
               with_cp: bool = False) -> torch.Tensor:
    """Run ``tokens`` through ``blocks`` in order; with ``with_cp`` each
    block's activations are recomputed in backward instead of kept
    (activation checkpointing, only where gradients flow)."""
    for blk in blocks:
        if with_cp and tokens.requires_grad:
            tokens = checkpoint(blk, tokens, modality, use_reentrant=False)
        else:
            tokens = blk(tokens, modality)
    return tokens


def init_linear_and_norm(module: nn.Module) -> None:
    """The reference initialization: Xavier-uniform Linear with zero bias,
    LayerNorm weight 1 / bias 0."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
