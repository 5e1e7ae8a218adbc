"""The CAV-MAE classification head: LayerNorm → Linear."""
import torch
import torch.nn as nn

from mmaction.models.heads.base import BaseHead
from mmaction.registry import MODELS
from ..utils.transformer import init_linear_and_norm


@MODELS.register_module()
class CAVMAEClsHead(BaseHead):
    """``LayerNorm(in_channels)`` → ``Linear(in_channels, num_classes)`` on
    a pooled clip feature (the reference's ``mlp_head``).

    Args:
        num_classes (int): 527 for AudioSet, 309 for VGGSound.
        in_channels (int): Defaults to 768.
        loss_cls (dict): Defaults to ``CrossEntropyLoss`` (single label);
            use ``BCELossWithLogits`` for multi-label.
        norm_eps (float): Defaults to 1e-5.
        average_clips (str, optional): How the scores of several frames of a
            clip are combined at test time: ``'sigmoid'`` (mean of
            sigmoids, multi-label), ``'prob'`` (mean of softmaxes),
            ``'score'`` (mean of logits) or None. Defaults to ``'prob'``.
        **kwargs: Other :class:`mmaction.models.heads.BaseHead` arguments
            (``multi_class``, ``label_smooth_eps``, ``topk``, ``init_cfg``:
            applied on top of the reference initialization).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int = 768,
                 loss_cls: dict = dict(type='CrossEntropyLoss'),
                 norm_eps: float = 1e-5,
                 average_clips: str = 'prob',
                 **kwargs) -> None:
        # BaseHead validates average_clips against its own list.
        self._sigmoid_average = average_clips == 'sigmoid'
        super().__init__(num_classes, in_channels, loss_cls=loss_cls,
                         average_clips=None if self._sigmoid_average else
                         average_clips, **kwargs)
        self.norm = nn.LayerNorm(in_channels, eps=norm_eps)
        self.fc_cls = nn.Linear(in_channels, num_classes)

    def init_weights(self) -> None:
        """The reference initialization (Xavier-uniform Linear, zero bias;
        LayerNorm 1 / 0), then ``init_cfg`` on top."""
        if not self.is_init:
            self.apply(init_linear_and_norm)
        super().init_weights()

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """``[N, in_channels]`` → logits ``[N, num_classes]``."""
        return self.fc_cls(self.norm(x))

    def average_clip(self, cls_scores: torch.Tensor,
                     num_segs: int = 1) -> torch.Tensor:
        if not self._sigmoid_average:
            return super().average_clip(cls_scores, num_segs)
        cls_scores = cls_scores.view(-1, num_segs, cls_scores.shape[-1])
        return torch.sigmoid(cls_scores).mean(dim=1)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_classes={self.num_classes}, '
                f'in_channels={self.in_channels})')
