"""Inference on raw inputs: class scores with label names, and embeddings.

An input is a video file (audio track + frames), an ``(audio, image)`` pair
(either may be None) or a ``data_info`` dict as
:class:`~cavmae_mm.datasets.AudioVisualDataset` produces it (``audio_path``,
``frame_dir`` + ``video_id`` in the reference layout, ``filename``). It goes
through the project's own transforms (``LoadAudioWaveform``, ``KaldiFbank``,
``NormalizeFbank``, ``SampleAVFrames``, ``LoadAVFrames``, ``AVResize``,
MMAction2's ``CenterCrop``/``FormatShape``/``PackActionInputs``), sized from
the model's backbone, then through the model's data preprocessor.

A clip without an audio (video) track is not an error when the model can do
without it: a multimodally fine-tuned recognizer switches to
``missingvideoonly`` (``missingaudioonly``), as SPEC §3 prescribes, and the
result says so.
"""
import contextlib
import logging
import os.path as osp
import weakref
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.transforms import BaseTransform
from mmengine.dataset import Compose, pseudo_collate
from mmengine.logging import print_log

from mmaction.registry import TRANSFORMS
from ..datasets.av_dataset import load_label_csv
from ..datasets.av_io import AVDataError
from ..datasets.transforms.audio import AUDIOSET_FBANK_MEAN, \
    AUDIOSET_FBANK_STD
from ..models.modes import (FALLBACK_MODES, MODALITY_NAMES, MODE_INPUTS,
                            MODES)

#: ``AVDataError.reason`` of a container without that kind of track.
MISSING_TRACK_REASONS = {'audio': ('no audio track', ),
                         'imgs': ('no video track', )}
FRAME_MODES = ('middle', 'all')

VideoOrPair = Union[str, Path, Tuple[Optional[str], Optional[str]], Dict]


class ModalityError(ValueError):
    """The input lacks a modality the model (or the mode) needs."""


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------


class LoadStillImage(BaseTransform):
    """Load one image file as a one-frame clip (the visual half of an
    ``(audio, image)`` pair), decoded by mmcv with PIL as RGB -- as
    :class:`~cavmae_mm.datasets.LoadAVFrames` reads pre-extracted JPEGs.

    Required Keys:

        - image_path (str)

    Added Keys:

        - imgs (list[np.ndarray]): one RGB uint8 ``[H, W, 3]`` frame.
        - img_shape, original_shape (tuple[int, int])
        - frame_inds (np.ndarray): ``[0]``.
        - num_clips, clip_len (int): 1 and 1, for ``FormatShape``.
    """

    def transform(self, results: Dict) -> Dict:
        """Load the image.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with ``imgs``.
        """
        import mmcv
        path = results['image_path']
        if not osp.isfile(path):
            raise AVDataError(path, 'file not found')
        try:
            img = mmcv.imread(path, flag='color', channel_order='rgb',
                              backend='pillow')
        except Exception as err:
            raise AVDataError(path, f'cannot decode image ({err})') from err
        results['imgs'] = [img]
        results['img_shape'] = img.shape[:2]
        results['original_shape'] = img.shape[:2]
        results['frame_inds'] = np.zeros(1, dtype=np.int64)
        results['num_clips'] = 1
        results['clip_len'] = 1
        return results


def _find_transform_cfg(cfg, type_name: str) -> Optional[dict]:
    """The first transform config of ``type_name`` anywhere in ``cfg``
    (``'mmaction.X'`` matches ``'X'``)."""
    stack = [cfg]
    while stack:
        node = stack.pop(0)
        if isinstance(node, dict):
            node_type = node.get('type')
            if isinstance(node_type, str) and \
                    node_type.split('.')[-1] == type_name:
                return dict(node)
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
    return None


def _build(transforms: Sequence) -> Compose:
    """Compose transforms built from MMAction2's registry (any scope)."""
    return Compose([
        TRANSFORMS.build(t) if isinstance(t, dict) else t for t in transforms
    ])


def item_to_data_info(item: VideoOrPair) -> Dict:
    """Normalize an input into a ``data_info`` dict and check its paths.

    Args:
        item (str | Path | tuple | dict): A video file; an
            ``(audio, image)`` pair of files (either may be None; the audio
            may be a wav or any file with an audio track); or a
            ``data_info`` dict with ``audio_path``, ``frame_dir`` +
            ``video_id``, ``image_path`` and/or ``filename``.

    Returns:
        dict: ``video_id`` and the path keys the transforms read.

    Raises:
        FileNotFoundError: A given path does not exist.
        TypeError: Unknown input type.
        ValueError: A pair with neither audio nor image.
    """
    if isinstance(item, (str, Path)):
        path = str(item)
        if not osp.exists(path):
            raise FileNotFoundError(f'video file not found: {path}')
        if osp.isdir(path):
            raise FileNotFoundError(
                f'expected a video file, got a directory: {path} (for '
                f'pre-extracted frames pass a dict with audio_path, '
                f'frame_dir and video_id)')
        return dict(filename=path,
                    video_id=osp.splitext(osp.basename(path))[0])
    if isinstance(item, (tuple, list)):
        if len(item) != 2:
            raise ValueError(f'a pair is (audio, image), got {len(item)} '
                             f'elements')
        audio, image = (None if p is None else str(p) for p in item)
        if audio is None and image is None:
            raise ValueError('the (audio, image) pair is empty')
        info = {}
        for key, path, what in (('audio_path', audio, 'audio'),
                                ('image_path', image, 'image')):
            if path is None:
                continue
            if not osp.isfile(path):
                raise FileNotFoundError(f'{what} file not found: {path}')
            info[key] = path
        info['video_id'] = osp.splitext(osp.basename(audio or image))[0]
        return info
    if isinstance(item, dict):
        info = dict(item)
        for key, what in (('audio_path', 'audio file'),
                          ('filename', 'video file'),
                          ('image_path', 'image file'),
                          ('frame_dir', 'frame folder')):
            path = info.get(key)
            if path and not osp.exists(path):
                raise FileNotFoundError(f'{what} not found: {path}')
        if not any(info.get(k) for k in ('audio_path', 'filename',
                                         'image_path', 'frame_dir')):
            raise ValueError('the data_info has none of audio_path, '
                             'filename, image_path, frame_dir')
        if info.get('frame_dir') and not info.get('video_id'):
            raise ValueError('frame_dir needs a video_id (frames are '
                             '<frame_dir>/frame_<i>/<video_id>.jpg)')
        info.setdefault(
            'video_id',
            osp.splitext(osp.basename(info.get('filename') or
                                      info.get('audio_path') or
                                      info.get('image_path')))[0])
        return info
    raise TypeError(f'expected a video path, an (audio, image) pair or a '
                    f'data_info dict, got {type(item).__name__}')


def available_modalities(info: Dict) -> List[str]:
    """Modalities a ``data_info`` can provide (before decoding)."""
    out = []
    if info.get('audio_path') or info.get('filename'):
        out.append('audio')
    if info.get('image_path') or info.get('frame_dir') or \
            info.get('filename'):
        out.append('imgs')
    return out


class AVInputLoader:
    """Turns one input into the packed sample a model's ``test_step``
    takes, modality by modality, noting modalities that are missing.

    The pipeline is sized from the model's backbone (``audio_length`` →
    ``KaldiFbank.target_length``, ``num_mel_bins``, ``img_size``); the fbank
    statistics come from a ``NormalizeFbank`` in the model's config when
    there is one (else AudioSet's). Frames are resized (short side, bicubic)
    and center-cropped, as in evaluation.

    Args:
        model (nn.Module): A ``CAVMAE`` or ``CAVMAERecognizer`` (reads
            ``model.backbone`` and ``model.cfg``).
        frames (str | int): ``'middle'`` (position 5 of 10, the reference's
            evaluation), ``'all'`` (the 10-frame ensemble) or a position.
            Defaults to ``'middle'``.
    """

    def __init__(self, model: nn.Module,
                 frames: Union[str, int] = 'middle') -> None:
        if not (frames in FRAME_MODES or isinstance(frames, int)):
            raise ValueError(f'frames must be one of {FRAME_MODES} or a '
                             f'position, got {frames!r}')
        backbone = model.backbone
        img_size = backbone.img_size
        norm = _find_transform_cfg(getattr(model, 'cfg', None) or {},
                                   'NormalizeFbank') or {}
        self.frames = frames
        self.audio = _build([
            dict(type='LoadAudioWaveform'),
            dict(type='KaldiFbank', num_mel_bins=backbone.num_mel_bins,
                 target_length=backbone.audio_length),
            dict(type='NormalizeFbank',
                 mean=norm.get('mean', AUDIOSET_FBANK_MEAN),
                 std=norm.get('std', AUDIOSET_FBANK_STD)),
        ])
        resize_crop = [
            dict(type='AVResize', scale=(-1, img_size)),
            dict(type='CenterCrop', crop_size=img_size),
            dict(type='FormatShape', input_format='NCHW'),
        ]
        self.frames_from_video = _build([
            dict(type='SampleAVFrames', mode=frames),
            dict(type='LoadAVFrames'),
        ] + resize_crop)
        self.still_image = _build([LoadStillImage()] + resize_crop)
        self._packers: Dict[Tuple[str, ...], Compose] = {}

    def _packer(self, modalities: Tuple[str, ...]) -> Compose:
        if modalities not in self._packers:
            self._packers[modalities] = _build([
                dict(type='PackActionInputs', collect_keys=modalities,
                     meta_keys=('video_id', 'filename', 'audio_path',
                                'image_path', 'frame_inds'))
            ])
        return self._packers[modalities]

    def __call__(self,
                 item: VideoOrPair,
                 modalities: Sequence[str] = ('audio', 'imgs'),
                 allow_missing: bool = True) -> Tuple[Dict, Dict[str, str]]:
        """Load ``modalities`` of ``item``.

        Args:
            item (str | Path | tuple | dict): See :func:`item_to_data_info`.
            modalities (Sequence[str]): Wanted, of ``'audio'``, ``'imgs'``.
                Defaults to both.
            allow_missing (bool): A modality the input does not have (not
                given, or a container without that track) is skipped and
                reported instead of raising. Defaults to True.

        Returns:
            tuple[dict, dict]: The packed sample (``inputs`` with
            ``audio [T, F]`` float32 and/or ``imgs [V, 3, H, W]`` uint8,
            ``data_samples``) and ``{modality: reason}`` of the missing
            ones.

        Raises:
            ModalityError: A wanted modality is missing and
                ``allow_missing`` is False, or none could be loaded.
            AVDataError: A file cannot be decoded.
        """
        info = item_to_data_info(item)
        results = dict(info)
        available = available_modalities(info)
        loaded, missing = [], {}
        for modality in ('audio', 'imgs'):
            if modality not in modalities:
                continue
            if modality not in available:
                missing[modality] = 'not given'
                continue
            if modality == 'audio':
                part = self.audio
            elif info.get('image_path'):
                part = self.still_image
            else:
                part = self.frames_from_video
            try:
                results = part(results)
            except AVDataError as err:
                if err.reason not in MISSING_TRACK_REASONS[modality]:
                    raise
                missing[modality] = err.reason
                continue
            loaded.append(modality)
        source = info.get('filename') or info.get('audio_path') or \
            info.get('image_path') or info.get('frame_dir')
        if missing and not allow_missing:
            raise ModalityError(
                f'{source}: missing ' + ', '.join(
                    f'{MODALITY_NAMES[m]} ({reason})'
                    for m, reason in missing.items()))
        if not loaded:
            raise ModalityError(
                f'{source}: none of the wanted modalities '
                f'{[MODALITY_NAMES[m] for m in modalities]} could be '
                f'loaded: ' + ', '.join(f'{MODALITY_NAMES[m]} ({reason})'
                                        for m, reason in missing.items()))
        return self._packer(tuple(loaded))(results), missing


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------


def is_recognizer(model: nn.Module) -> bool:
    """Whether ``model`` has a classification head."""
    return getattr(model, 'cls_head', None) is not None


@contextlib.contextmanager
def recognizer_mode(model: nn.Module, mode: Optional[str]) -> Iterator:
    """Temporarily set a recognizer's inference ``mode``."""
    if mode is None or not is_recognizer(model):
        yield model
        return
    previous = model.mode
    model.mode = mode
    try:
        yield model
    finally:
        model.mode = previous


def choose_mode(mode: str, present: Sequence[str]) -> Tuple[str, str]:
    """The mode to run when only ``present`` modalities were loaded.

    Args:
        mode (str): The wanted (configured) recognizer mode.
        present (Sequence[str]): Loaded modalities.

    Returns:
        tuple[str, str]: The mode and a note ('' when unchanged).

    Raises:
        ModalityError: The mode cannot do without the missing modality.
    """
    needed = MODE_INPUTS[mode]
    absent = [m for m in needed if m not in present]
    if not absent:
        return mode, ''
    if mode == 'multimodal' and len(absent) == 1:
        fallback = FALLBACK_MODES[absent[0]]
        return fallback, (
            f'no {MODALITY_NAMES[absent[0]]} input: using the '
            f'{MODALITY_NAMES[MODE_INPUTS[fallback][0]]}-only path of the '
            f'multimodal model (mode {fallback!r})')
    raise ModalityError(
        f'mode {mode!r} needs {[MODALITY_NAMES[m] for m in needed]} but the '
        f'input has no {[MODALITY_NAMES[m] for m in absent]}')


def resolve_class_names(model: nn.Module,
                        labels: Union[None, str, Sequence[str]] = None
                        ) -> List[str]:
    """Class names of a recognizer's outputs.

    Args:
        model (nn.Module): The recognizer.
        labels (str | Sequence[str], optional): A label CSV
            (``index,mid,display_name``) or the names. None takes
            ``model.dataset_meta['classes']`` (saved by MMEngine in the
            checkpoint), else the ``label_csv`` of the config's test data set
            when that file exists, else ``class_<i>``. Defaults to None.

    Returns:
        list[str]: ``num_classes`` names.

    Raises:
        FileNotFoundError: ``labels`` is a path that does not exist.
        ValueError: The number of names differs from the model's classes.
    """
    num_classes = model.cls_head.num_classes
    source = None
    if isinstance(labels, (str, Path)):
        if not osp.isfile(str(labels)):
            raise FileNotFoundError(f'label file not found: {labels}')
        names = [row['display_name'] for row in load_label_csv(str(labels))]
        source = str(labels)
    elif labels is not None:
        names, source = [str(name) for name in labels], 'the given names'
    else:
        names = list((getattr(model, 'dataset_meta', None) or {}).get(
            'classes') or [])
        source = 'the checkpoint meta' if names else None
        if not names:
            csv_path = _config_label_csv(getattr(model, 'cfg', None))
            if csv_path:
                names = [row['display_name']
                         for row in load_label_csv(csv_path)]
                source = csv_path
    if not names:
        return [f'class_{i}' for i in range(num_classes)]
    if len(names) != num_classes:
        raise ValueError(f'{source} names {len(names)} classes but the '
                         f'model predicts {num_classes}')
    return names


def _config_label_csv(cfg) -> Optional[str]:
    if cfg is None:
        return None
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    label_csv = dataset.get('label_csv')
    if not label_csv:
        return None
    data_root = dataset.get('data_root')
    if data_root and not osp.isabs(label_csv):
        label_csv = osp.join(data_root, label_csv)
    return label_csv if osp.isfile(label_csv) else None


def _probabilities(head: nn.Module, scores: torch.Tensor
                   ) -> Tuple[torch.Tensor, str]:
    """``[C]`` probabilities of a head's ``pred_scores`` and their kind."""
    scores = scores.float().reshape(-1, scores.shape[-1])
    if getattr(head, '_sigmoid_average', False):
        return scores.mean(0), 'sigmoid'
    if head.average_clips == 'prob':
        return scores.mean(0), 'softmax'
    logits = scores.mean(0)  # 'score' / None: averaged logits
    if head.multi_class:
        return torch.sigmoid(logits), 'sigmoid'
    return F.softmax(logits, dim=-1), 'softmax'


_LOADERS: 'weakref.WeakKeyDictionary[nn.Module, dict]' = \
    weakref.WeakKeyDictionary()


def _loader(model: nn.Module, frames: Union[str, int]) -> AVInputLoader:
    """The :class:`AVInputLoader` of ``model`` for ``frames`` (built once
    per model and frame choice)."""
    cache = _LOADERS.setdefault(model, {})
    if frames not in cache:
        cache[frames] = AVInputLoader(model, frames)
    return cache[frames]


@torch.no_grad()
def inference_av(model: nn.Module,
                 video_or_pair: VideoOrPair,
                 topk: int = 5,
                 labels: Union[None, str, Sequence[str]] = None,
                 frames: Union[str, int] = 'middle',
                 mode: Optional[str] = None,
                 allow_missing: bool = True) -> Dict:
    """Classify one clip with a fine-tuned recognizer.

    Args:
        model (nn.Module): A ``CAVMAERecognizer`` (see
            :func:`~cavmae_mm.apis.init_model`).
        video_or_pair (str | Path | tuple | dict): A video file, an
            ``(audio, image)`` pair (either may be None) or a data_info
            dict (see :func:`item_to_data_info`).
        topk (int): Number of best classes to return. Defaults to 5.
        labels (str | Sequence[str], optional): Label CSV or class names
            (see :func:`resolve_class_names`). Defaults to None.
        frames (str | int): ``'middle'``, ``'all'`` (multi-frame ensemble)
            or a frame position. Defaults to ``'middle'``.
        mode (str, optional): Recognizer mode to use instead of the
            model's own. Defaults to None.
        allow_missing (bool): A clip lacking a modality falls back to the
            single-modality path of a multimodal model (``missingvideoonly``
            without audio, ``missingaudioonly`` without frames) instead of
            raising. Defaults to True.

    Returns:
        dict: ``video_id``; ``mode`` (the one used); ``missing``
        (``{modality: reason}``); ``note`` (what was switched, or '');
        ``scores`` float32 ``[num_classes]`` probabilities; ``score_type``
        (``'sigmoid'`` multi-label, ``'softmax'`` single-label);
        ``topk``: a list of ``{'index', 'label', 'score'}``, best first.

    Raises:
        ValueError: ``model`` has no classification head (a pre-training
            model), or an unknown ``mode``.
        ModalityError: The input lacks a modality the mode needs.
        FileNotFoundError, AVDataError: Bad input files.
    """
    if not is_recognizer(model):
        raise ValueError(
            f'{type(model).__name__} is a pre-training model without a '
            f'classification head: it cannot classify. Use '
            f'extract_features() for its embeddings, or fine-tune it.')
    mode = mode or model.mode
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    names = resolve_class_names(model, labels)
    wanted = MODE_INPUTS[mode]
    try:
        data, missing = _loader(model, frames)(video_or_pair, wanted,
                                               allow_missing=allow_missing)
    except ModalityError as err:
        raise ModalityError(
            f'mode {mode!r} needs {[MODALITY_NAMES[m] for m in wanted]}: '
            f'{err}') from None
    run_mode, note = choose_mode(mode, list(data['inputs']))
    if note:
        print_log(f'{data["data_samples"].video_id}: {note}',
                  logger='current', level=logging.WARNING)
    with recognizer_mode(model, run_mode):
        sample = model.test_step(pseudo_collate([data]))[0]
    probs, score_type = _probabilities(model.cls_head,
                                       sample.pred_scores.item.cpu())
    k = min(topk, probs.numel())
    best = torch.topk(probs, k)
    return dict(
        video_id=data['data_samples'].video_id,
        mode=run_mode,
        missing=missing,
        note=note,
        scores=probs.numpy().astype(np.float32),
        score_type=score_type,
        topk=[dict(index=int(i), label=names[int(i)], score=float(s))
              for s, i in zip(best.values, best.indices)])


# --------------------------------------------------------------------------
# Embeddings
# --------------------------------------------------------------------------


@torch.no_grad()
def embed_inputs(model: nn.Module,
                 inputs: Dict[str, torch.Tensor],
                 with_tokens: bool = False) -> Dict[str, torch.Tensor]:
    """Retrieval embeddings of preprocessed inputs: the model's
    ``extract_embeddings`` (see :meth:`CAVMAEViT.extract_embeddings`)
    without gradients.

    Args:
        model (nn.Module): ``CAVMAE`` or ``CAVMAERecognizer``.
        inputs (dict): After the data preprocessor: ``audio [B, T, F]``
            and/or ``imgs [B, V, 3, H, W]``.
        with_tokens (bool): Also return the token features.
            Defaults to False.

    Returns:
        dict: ``audio`` / ``visual`` ``[B, D]`` (unit norm) for each given
        modality and, with ``with_tokens``, ``audio_tokens`` ``[B, La, D]``
        and ``visual_tokens`` ``[B, V, Lv, D]`` (after the shared layers and
        the modality's final norm).
    """
    return model.extract_embeddings(inputs, with_tokens=with_tokens)


@torch.no_grad()
def embed_batch(model: nn.Module, data_batch: Dict,
                with_tokens: bool = False) -> Dict[str, torch.Tensor]:
    """:func:`embed_inputs` of a collated batch (``pseudo_collate`` of
    packed samples), after the model's data preprocessor."""
    data = model.data_preprocessor(data_batch, False)
    return embed_inputs(model, data['inputs'], with_tokens)


@torch.no_grad()
def extract_features(model: nn.Module,
                     video_or_pair: VideoOrPair,
                     with_tokens: bool = False,
                     frames: Union[str, int] = 'middle',
                     modalities: Sequence[str] = ('audio', 'imgs'),
                     allow_missing: bool = True) -> Dict:
    """L2-normalized audio and visual embeddings of one clip.

    Args:
        model (nn.Module): A pre-training ``CAVMAE`` or a fine-tuned
            ``CAVMAERecognizer``.
        video_or_pair (str | Path | tuple | dict): A video file, an
            ``(audio, image)`` pair (either may be None) or a data_info
            dict (see :func:`item_to_data_info`).
        with_tokens (bool): Also return token features. Defaults to False.
        frames (str | int): ``'middle'``, ``'all'`` or a frame position
            (several frames are averaged). Defaults to ``'middle'``.
        modalities (Sequence[str]): Which of ``'audio'``, ``'imgs'`` to
            embed. Defaults to both.
        allow_missing (bool): Return what the input has when a modality is
            missing (e.g. a video without audio track) instead of raising.
            Defaults to True.

    Returns:
        dict: ``video_id``, ``missing`` (``{modality: reason}``) and CPU
        float32 tensors ``audio`` ``[D]``, ``visual`` ``[D]`` (unit norm)
        and with ``with_tokens`` ``audio_tokens`` ``[La, D]``,
        ``visual_tokens`` ``[V, Lv, D]``, for the modalities present.

    Raises:
        ModalityError: A wanted modality is missing and ``allow_missing``
            is False, or none could be loaded.
        FileNotFoundError, AVDataError: Bad input files.
    """
    data, missing = _loader(model, frames)(video_or_pair, modalities,
                                           allow_missing=allow_missing)
    if missing:
        print_log(
            f'{data["data_samples"].video_id}: no ' + ', '.join(
                f'{MODALITY_NAMES[m]} ({reason})'
                for m, reason in missing.items()) + ': embedding only ' +
            ', '.join(MODALITY_NAMES[m] for m in data['inputs']),
            logger='current', level=logging.WARNING)
    features = embed_batch(model, pseudo_collate([data]), with_tokens)
    out = dict(video_id=data['data_samples'].video_id, missing=missing)
    out.update({k: v[0].float().cpu() for k, v in features.items()})
    return out
