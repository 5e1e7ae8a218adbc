"""Classification of a clip from the features of its frames (CAV-MAE
Sync's fine-tuning ``aggregate``)."""
from typing import Union

import torch
import torch.nn as nn

from mmaction.registry import MODELS
from ..utils.transformer import CAVMAEBlock, run_blocks
from .av_cls_head import CAVMAEClsHead

AGGREGATIONS = ('self_attention_cls', 'mean')


@MODELS.register_module()
class CAVMAEFrameAggregationHead(CAVMAEClsHead):
    """Classifies ``[N * F, C]`` frame features (clip-major, ``F`` frames
    per clip, given as ``num_segs`` by :class:`CAVMAERecognizer`) with one
    score per clip.

    * ``'self_attention_cls'`` (Sync's ``aggregate``): a learned
      ``cls_token`` ``[1, 1, C]`` in front of the ``F`` frame features,
      ``depth`` transformer blocks, ``norm`` and ``fc_cls`` on token 0 (the
      reference's ``cls_cls_token``, ``classifier_layers``,
      ``classifier_norm``, ``classifier_head``);
    * ``'mean'``: the mean of the frame features, then ``norm`` and
      ``fc_cls`` (CAV-MAE's head on the averaged feature).

    No position embedding: the frame order is not seen, and any ``F``
    works. For Sync's multimodal features ``C`` is ``2 x embed_dims``
    (``CAVMAEViT.multimodal_feature``).

    Args:
        num_classes (int): Classes.
        in_channels (int): Frame feature channels ``C``. Defaults to 768.
        aggregate (str): ``'self_attention_cls'`` or ``'mean'``.
            Defaults to ``'self_attention_cls'``.
        num_heads (int): Attention heads of the blocks. Defaults to 12.
        depth (int): Blocks. Defaults to 2.
        mlp_ratio (float): Defaults to 4.
        norm_eps (float): Defaults to 1e-5.
        fused_attn (bool | str): See
            :class:`~cavmae_mm.models.utils.transformer.Attention`.
            Defaults to ``'auto'``.
        **kwargs: :class:`CAVMAEClsHead` arguments (``loss_cls``,
            ``average_clips``, ...).
    """
    #: The recognizer passes the frames of a clip together.
    aggregates_frames = True

    def __init__(self,
                 num_classes: int,
                 in_channels: int = 768,
                 aggregate: str = 'self_attention_cls',
                 num_heads: int = 12,
                 depth: int = 2,
                 mlp_ratio: float = 4.,
                 norm_eps: float = 1e-5,
                 fused_attn: Union[bool, str] = 'auto',
                 **kwargs) -> None:
        if aggregate not in AGGREGATIONS:
            raise ValueError(f'aggregate must be one of {AGGREGATIONS}, got '
                             f'{aggregate!r}')
        super().__init__(num_classes, in_channels, norm_eps=norm_eps,
                         **kwargs)
        self.aggregate = aggregate
        if aggregate == 'self_attention_cls':
            self.cls_token = nn.Parameter(torch.zeros(1, 1, in_channels))
            self.blocks = nn.ModuleList(
                CAVMAEBlock(in_channels, num_heads, mlp_ratio,
                            norm_eps=norm_eps, modality_norms=False,
                            fused_attn=fused_attn) for _ in range(depth))

    def init_weights(self) -> None:
        """The reference's: cls token normal(std 0.02), Linear
        Xavier-uniform, LayerNorm 1 / 0; then ``init_cfg``."""
        if not self.is_init and self.aggregate == 'self_attention_cls':
            nn.init.normal_(self.cls_token, std=.02)
        super().init_weights()

    def forward(self, x: torch.Tensor, num_segs: int = 1,
                **kwargs) -> torch.Tensor:
        """``[N * num_segs, C]`` → logits ``[N, num_classes]``."""
        frames = x.reshape(-1, num_segs, x.shape[-1])  # [N, F, C]
        if self.aggregate == 'mean':
            return self.fc_cls(self.norm(frames.mean(dim=1)))
        tokens = torch.cat(
            [self.cls_token.expand(frames.shape[0], -1, -1), frames], dim=1)
        tokens = run_blocks(tokens, self.blocks)  # [N, 1 + F, C]
        return self.fc_cls(self.norm(tokens[:, 0]))
