"""The CAV-MAE pre-training model."""
import inspect
from typing import Any, Dict, List, NamedTuple, Optional, Tuple, Union

import torch
from mmengine.model import BaseModel

from mmaction.registry import MODELS
from mmaction.utils import OptSampleList
from ..utils.embeddings import retrieval_embeddings
from ..utils.init_log import InitInfoAtDebugMixin

ForwardResults = Union[Dict[str, torch.Tensor], List, tuple, torch.Tensor]


class AVInputs(NamedTuple):
    """Model inputs as the backbone takes them (see :func:`split_inputs`).

    Attributes:
        audio (torch.Tensor, optional): ``[B * frames, T, F]``.
        imgs (torch.Tensor, optional): ``[B * frames * views, 3, H, W]``.
        views (int): Frames per clip that share one spectrogram (CAV-MAE's
            multi-frame evaluation).
        frames (int): Frames per clip each paired with its own
            spectrogram segment (CAV-MAE Sync).
    """
    audio: Optional[torch.Tensor]
    imgs: Optional[torch.Tensor]
    views: int = 1
    frames: int = 1


def split_inputs(inputs: Dict[str, torch.Tensor]) -> AVInputs:
    """``audio`` ``[B, (F,) T, M]`` and ``imgs`` ``[B, (V,) 3, H, W]`` →
    :class:`AVInputs` (missing modalities come back as None).

    One spectrogram per clip (``[B, T, M]`` or ``[B, 1, T, M]``): the ``V``
    frames are views of the clip, each paired with that spectrogram
    (``views=V``). ``F > 1`` spectrogram segments: paired frames, one per
    segment (Sync; ``imgs`` must be ``[B, F, 3, H, W]``, or absent); both
    are flattened clip-major to ``[B * F, ...]`` (``frames=F``).
    """
    audio, imgs = inputs.get('audio'), inputs.get('imgs')
    frames = 1
    if audio is not None and audio.ndim == 4:
        frames = audio.shape[1]
        audio = audio.flatten(0, 1)  # [B * F, T, M], clip-major
    views = 1
    if imgs is not None and imgs.ndim == 5:
        views = imgs.shape[1]
        imgs = imgs.flatten(0, 1)
    if frames > 1 and imgs is not None:
        if views != frames:
            raise ValueError(
                f'{frames} spectrogram segments per clip pair with as many '
                f'frames, got imgs of shape {list(inputs["imgs"].shape)}')
        views = 1
    return AVInputs(audio, imgs, views, frames)


def store_embeddings(embeddings: Dict[str, torch.Tensor],
                     data_samples: OptSampleList = None) -> Union[Dict, list]:
    """Set each ``[B, D]`` (or ``[B, F, D]``, one per paired frame)
    embedding as ``<name>_feature`` of its sample (``audio_feature``,
    ``visual_feature``: what ``AVRetrievalMetric`` reads) and return the
    samples; without samples, the embeddings."""
    if data_samples is None:
        return embeddings
    for i, sample in enumerate(data_samples):
        for name, value in embeddings.items():
            sample.set_field(value[i], f'{name}_feature')
    return data_samples


def fill_from_backbone(cfg: dict, key: str,
                       facts: Dict[str, Tuple[Any, Optional[str]]]) -> dict:
    """A copy of a neck / head config with the backbone's ``facts`` set.

    Only the arguments the config's class takes are set. A value the
    config gives itself must agree with the backbone's.

    Args:
        cfg (dict): The neck or head config.
        key (str): Its config key, for messages (``'model.neck'``).
        facts (dict): ``{argument: (value, source)}``: ``source`` says
            what the backbone derives the value from, None when it is the
            backbone's argument of the same name.

    Returns:
        dict: The completed config.

    Raises:
        ValueError: The config gives a value that disagrees with the
            backbone's; the message names both keys.
    """
    cfg = dict(cfg)
    cls = cfg.get('type')
    if isinstance(cls, str):
        cls = MODELS.get(cls)
    if not inspect.isclass(cls):  # unknown type: MODELS.build reports it
        return cfg
    accepted = inspect.signature(cls).parameters
    for name, (value, source) in facts.items():
        if name not in accepted:
            continue
        given = cfg.get(name)
        if given is not None and (tuple(given) if isinstance(
                given, (list, tuple)) else given) != value:
            owner = f'model.backbone.{name}={value!r}' if source is None \
                else f'model.backbone ({source} {value!r})'
            raise ValueError(
                f'{key}.{name}={given!r} disagrees with {owner}; drop '
                f'{key}.{name}: CAVMAE sets it from the backbone')
        cfg[name] = value
    return cfg


@MODELS.register_module()
class CAVMAE(InitInfoAtDebugMixin, BaseModel):
    """Contrastive audio-visual masked autoencoder (pre-training).

    Wires a backbone (``CAVMAEViT``), a neck (``CAVMAEPretrainDecoder``, may be
    None when the reconstruction weight is 0) and a head
    (``CAVMAEPretrainHead``) in MMEngine's ``BaseModel`` modes:

    * ``loss``: masked encoding, decoding and the losses (``loss_mae_a``,
      ``loss_mae_v``, ``loss_c`` and the logged accuracy ``acc_c``);
    * ``predict``: unmasked, L2-normalized mean-pooled audio and visual
      embeddings (the retrieval features) stored in each data sample as
      ``audio_feature`` / ``visual_feature``;
    * ``tensor``: the masked forward's raw outputs (predictions, masks,
      embeddings) for visualization.

    Inputs: ``dict(audio=[B, T, M], imgs=[B, 1, 3, H, W] or [B, 3, H, W])``;
    CAV-MAE Sync: ``audio=[B, F, T, M]`` (a segment per frame) and
    ``imgs=[B, F, 3, H, W]``: ``B * F`` paired samples, the contrastive
    loss told which rows are frames of one clip (``AVInfoNCELoss``'s
    ``same_clip_frames``), the retrieval features ``[F, D]`` per sample.
    Masking noise may be passed as ``noise_a`` / ``noise_v`` keyword
    arguments of ``forward`` (else drawn from the global generator).

    The backbone owns the geometry: the neck gets its patch grids
    (``grid_a``, ``grid_v``), ``patch_size`` and ``embed_dims``, the head
    its ``patch_size``, so their configs leave them out (a value they give
    must agree; see :func:`fill_from_backbone`).

    Args:
        backbone (dict): Encoder config.
        neck (dict, optional): Decoder config. Defaults to None.
        head (dict): Loss head config.
        data_preprocessor (dict, optional): Defaults to None.
        init_cfg (dict, optional): Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        facts = self._backbone_geometry()
        self.head = MODELS.build(fill_from_backbone(head, 'model.head', facts))
        self.neck = None if neck is None else MODELS.build(
            fill_from_backbone(neck, 'model.neck', facts))
        if self.head.with_mae and self.neck is None:
            raise ValueError('the reconstruction loss needs a decoder '
                             '(neck); set its loss_weight to 0 to drop it')

    def _backbone_geometry(self) -> Dict[str, Tuple[Any, Optional[str]]]:
        """What the neck and head take from the backbone (see
        :func:`fill_from_backbone`)."""
        encoder = self.backbone
        patch = f'patch_size={encoder.patch_size}'
        return dict(
            grid_a=(encoder.grid_a, f'num_mel_bins={encoder.num_mel_bins}, '
                    f'audio_length={encoder.audio_length}, {patch} -> grid'),
            grid_v=(encoder.grid_v,
                    f'img_size={encoder.img_size}, {patch} -> grid'),
            patch_size=(encoder.patch_size, None),
            embed_dims=(encoder.embed_dims, None))

    def forward(self,
                inputs: Dict[str, torch.Tensor],
                data_samples: OptSampleList = None,
                mode: str = 'tensor',
                **kwargs) -> ForwardResults:
        if mode == 'loss':
            return self.loss(inputs, data_samples, **kwargs)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, **kwargs)
        raise RuntimeError(f'Invalid mode "{mode}". Only supports loss, '
                           'predict and tensor mode')

    def _forward(self,
                 inputs: Dict[str, torch.Tensor],
                 noise_a: Optional[torch.Tensor] = None,
                 noise_v: Optional[torch.Tensor] = None) -> Dict:
        audio, imgs, views, frames = split_inputs(inputs)
        if audio is None or imgs is None:
            raise ValueError('pre-training needs both audio and imgs inputs')
        if views != 1:
            raise ValueError(f'pre-training takes one frame per spectrogram, '
                             f'got {views}')
        encoded = self.backbone.forward_pretrain(
            audio, imgs, noise_a, noise_v,
            with_joint=self.neck is not None,
            with_single=self.head.with_contrastive)
        if self.neck is not None:
            encoded['pred_a'], encoded['pred_v'] = self.neck(
                encoded['joint'], encoded['ids_restore_a'],
                encoded['ids_restore_v'],
                num_visible_a=encoded['num_visible_a'])
        encoded['audio_input'], encoded['imgs_input'] = audio, imgs
        encoded['frames_per_clip'] = frames
        return encoded

    def loss(self,
             inputs: Dict[str, torch.Tensor],
             data_samples: OptSampleList = None,
             noise_a: Optional[torch.Tensor] = None,
             noise_v: Optional[torch.Tensor] = None
             ) -> Dict[str, torch.Tensor]:
        encoded = self._forward(inputs, noise_a, noise_v)
        return self.head.loss(encoded['audio_input'], encoded['imgs_input'],
                              encoded, encoded.get('pred_a'),
                              encoded.get('pred_v'),
                              frames_per_clip=encoded['frames_per_clip'])

    def extract_embeddings(self, inputs: Dict[str, torch.Tensor],
                           with_tokens: bool = False
                           ) -> Dict[str, torch.Tensor]:
        """Retrieval embeddings of the given modalities: see
        :func:`~cavmae_mm.models.utils.embeddings.retrieval_embeddings`."""
        audio, imgs, views, frames = split_inputs(inputs)
        return retrieval_embeddings(self.backbone, audio, imgs, views,
                                    with_tokens, frames=frames)

    def predict(self, inputs: Dict[str, torch.Tensor],
                data_samples: OptSampleList = None) -> Union[Dict, list]:
        return store_embeddings(self.extract_embeddings(inputs),
                                data_samples)
