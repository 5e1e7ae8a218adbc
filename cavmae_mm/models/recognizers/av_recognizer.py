"""Audio-visual recognizer for fine-tuned CAV-MAE models."""
from typing import Dict, Optional, Tuple

import torch

from mmaction.models.recognizers.base import BaseRecognizer
from mmaction.registry import MODELS
from mmaction.utils import OptSampleList
from ..algorithms.cavmae import split_inputs
from ..modes import check_mode, uses
from ..utils.embeddings import retrieval_embeddings
from ..utils.init_log import InitInfoAtDebugMixin


@MODELS.register_module()
class CAVMAERecognizer(InitInfoAtDebugMixin, BaseRecognizer):
    """An MMAction2 recognizer over a ``CAVMAEViT`` backbone.

    Inputs: ``dict(audio=[B, T, F], imgs=[B, V, 3, H, W])`` (either may be
    absent when ``mode`` does not use it). With ``V > 1`` frames per clip
    (multi-frame evaluation) the audio is encoded once, each frame is
    classified with it, and the head averages the frame scores
    (``average_clips``).

    Args:
        backbone (dict): ``CAVMAEViT`` config.
        cls_head (dict): ``CAVMAEClsHead`` config.
        mode (str): ``'multimodal'``, ``'audioonly'``, ``'videoonly'``,
            ``'missingaudioonly'`` or ``'missingvideoonly'`` (SPEC §3).
            Defaults to ``'multimodal'``.
        **kwargs: Other :class:`BaseRecognizer` arguments
            (``data_preprocessor``, ``train_cfg``, ``test_cfg``).
    """

    def __init__(self, backbone: dict, cls_head: dict,
                 mode: str = 'multimodal', **kwargs) -> None:
        super().__init__(backbone=backbone, cls_head=cls_head, **kwargs)
        self.mode = mode
        channels = getattr(self.cls_head, 'in_channels', None)
        dims = self.backbone.feature_dims(self.mode)
        if channels is not None and channels != dims:
            source = f'model.backbone.embed_dims={self.backbone.embed_dims}'
            if dims != self.backbone.embed_dims:
                source = (f'the backbone\'s {self.mode} feature of {dims} '
                          f'channels (multimodal_feature='
                          f'{self.backbone.multimodal_feature!r}, 2 x '
                          f'embed_dims)')
            raise ValueError(
                f'model.cls_head.in_channels={channels} disagrees with '
                f'{source}: the head classifies the pooled feature')

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        self._mode = check_mode(mode)

    def extract_feat(self,
                     inputs: Dict[str, torch.Tensor],
                     stage: str = 'backbone',
                     data_samples: OptSampleList = None,
                     test_mode: bool = False,
                     mode: Optional[str] = None) -> Tuple:
        """Pooled features ``[B * S, C]`` (``S`` frames or segments per
        clip; ``stage='backbone'``) or logits (``stage='head'``), and the
        head's kwargs: ``num_segs=S`` (a frame-aggregating head classifies
        the ``S`` features of a clip together; the others score each and
        average at test time)."""
        audio, imgs, views, frames = split_inputs(inputs)
        mode = mode or self.mode
        segments = frames * (views if uses(mode, 'imgs') else 1)
        if not test_mode and segments != 1 and not getattr(
                self.cls_head, 'aggregates_frames', False):
            if frames != 1:
                raise ValueError(f'training takes one spectrogram per clip, '
                                 f'got {frames} segments (a frame-'
                                 f'aggregating head takes several)')
            raise ValueError(f'training takes one frame per clip, got '
                             f'{views}')
        feats = self.backbone(audio=audio if uses(mode, 'audio') else None,
                              imgs=imgs if uses(mode, 'imgs') else None,
                              mode=mode)
        kwargs = dict(num_segs=segments)
        if stage == 'head':
            feats = self.cls_head(feats, **kwargs)
        return feats, kwargs

    def extract_embeddings(self, inputs: Dict[str, torch.Tensor],
                           with_tokens: bool = False
                           ) -> Dict[str, torch.Tensor]:
        """Retrieval embeddings of the given modalities, whatever
        ``mode``: see
        :func:`~cavmae_mm.models.utils.embeddings.retrieval_embeddings`."""
        audio, imgs, views, frames = split_inputs(inputs)
        return retrieval_embeddings(self.backbone, audio, imgs, views,
                                    with_tokens, frames=frames)
