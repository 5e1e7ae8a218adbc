"""Build a ready-to-run CAV-MAE model from a config and a checkpoint, and
classify one clip with it.

Inputs go through the config's test pipeline
(:class:`~cavmae_mm.apis.pipeline.InferencePipeline`), then the model's data
preprocessor. A clip without an audio (video) track is not an error when the
model can do without it: a multimodally fine-tuned recognizer switches to
``missingvideoonly`` (``missingaudioonly``), as SPEC §3 prescribes
(:func:`~cavmae_mm.models.modes.choose_mode`), and the result says so.
"""
import contextlib
import copy
import logging
import os.path as osp
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import print_log
from mmengine.registry import init_default_scope

from mmaction.registry import MODELS
from ..datasets.class_labels import load_label_csv
from ..models.modes import MODALITY_NAMES, MODE_INPUTS, check_mode, \
    choose_mode
from ..utils.safe_load import get_state_dict, load_checkpoint_safe
from ..utils.config_checks import check_data_geometry
from ..utils.strict_load import load_state_dict_strict
from .inputs import ModalityError, VideoOrPair
from .pipeline import InferencePipeline


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a model from a config, load a checkpoint, switch to eval mode.

    The checkpoint must fit the model exactly: a missing, unexpected or
    shape-mismatched key raises an error that lists them (differences the
    model adapts itself, like an audio position embedding saved for another
    audio length, are accepted). A reference-implementation checkpoint must
    first be converted with ``tools/convert_official_ckpt.py``.

    Args:
        config (str | Path | Config): Config file or object. An object is
            copied before ``cfg_options`` are merged.
        checkpoint (str, optional): MMEngine checkpoint file (state dict
            under ``'state_dict'``) or a plain state dict file, loaded with
            ``weights_only=True``. None keeps the model's own
            initialization (``init_weights``). Defaults to None.
        device (str | torch.device): Defaults to ``'cpu'``.
        cfg_options (dict, optional): Overrides merged into the config, as
            ``--cfg-options`` does (``{'model.cls_head.num_classes': 7}``).
            Defaults to None.

    Returns:
        nn.Module: The model in eval mode on ``device``, with the config in
        ``model.cfg`` and, when the checkpoint's meta has it,
        ``model.dataset_meta``.

    Raises:
        TypeError: ``config`` is not a path or a Config.
        ValueError: The config's data pipelines do not fit its model
            (see :func:`~cavmae_mm.utils.config_checks.check_data_geometry`).
        FileNotFoundError: The checkpoint file does not exist.
        cavmae_mm.utils.CheckpointMismatchError: The checkpoint does not
            fit the model.
        cavmae_mm.utils.UnsafeCheckpointError: The checkpoint pickles a
            disallowed object.
    """
    if isinstance(config, (str, Path)):
        config = Config.fromfile(str(config))
    elif isinstance(config, Config):
        config = copy.deepcopy(config)
    else:
        raise TypeError(f'config must be a file path or a Config, got '
                        f'{type(config).__name__}')
    if cfg_options:
        config.merge_from_dict(cfg_options)
    check_data_geometry(config)  # its data loaders / test_pipeline, if any
    init_default_scope(config.get('default_scope', 'mmaction'))
    model = MODELS.build(config.model)
    if checkpoint is None:
        model.init_weights()
    else:
        loaded = load_checkpoint_safe(checkpoint, map_location='cpu')
        load_state_dict_strict(model, get_state_dict(loaded, str(checkpoint)),
                               source=str(checkpoint))
        meta = loaded.get('meta') if isinstance(loaded, dict) else None
        if isinstance(meta, dict) and 'dataset_meta' in meta:
            model.dataset_meta = meta['dataset_meta']
    model.cfg = config
    model.to(device)
    model.eval()
    return model


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


@torch.no_grad()
def inference_av(model: nn.Module,
                 video_or_pair: VideoOrPair,
                 topk: int = 5,
                 labels: Union[None, str, Sequence[str]] = None,
                 frames: Union[None, str, int] = None,
                 mode: Optional[str] = None,
                 allow_missing: bool = True) -> Dict:
    """Classify one clip with a fine-tuned recognizer, its inputs built by
    the config's test pipeline (see
    :class:`~cavmae_mm.apis.pipeline.InferencePipeline`).

    Args:
        model (nn.Module): A ``CAVMAERecognizer`` (see
            :func:`~cavmae_mm.apis.init_model`).
        video_or_pair (str | Path | tuple | dict): A video file, an
            ``(audio, image)`` pair (either may be None) or a data_info
            dict (see :func:`~cavmae_mm.apis.inputs.item_to_data_info`).
        topk (int): Number of best classes to return. Defaults to 5.
        labels (str | Sequence[str], optional): Label CSV or class names
            (see :func:`resolve_class_names`). Defaults to None.
        frames (str | int, optional): ``SampleAVFrames``' mode:
            ``'middle'``, ``'all'`` (multi-frame ensemble) or a frame
            position; None keeps the test pipeline's. Defaults to None.
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
            model), an unknown ``mode``, or its config has no test
            pipeline.
        ModalityError: The input lacks a modality the mode needs.
        FileNotFoundError, AVDataError: Bad input files.
    """
    if not is_recognizer(model):
        raise ValueError(
            f'{type(model).__name__} is a pre-training model without a '
            f'classification head: it cannot classify. Use '
            f'extract_features() for its embeddings, or fine-tune it.')
    mode = check_mode(mode or model.mode)
    names = resolve_class_names(model, labels)
    wanted = MODE_INPUTS[mode]
    pipeline = InferencePipeline.of_model(model, frames)
    needs = f'mode {mode!r} needs {[MODALITY_NAMES[m] for m in wanted]}'
    try:
        data, missing = pipeline(video_or_pair, wanted,
                                 allow_missing=allow_missing)
    except ModalityError as err:
        raise ModalityError(f'{needs}: {err}') from None
    try:
        run_mode, note = choose_mode(mode, list(data['inputs']))
    except ValueError as err:
        raise ModalityError(str(err)) from None
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
