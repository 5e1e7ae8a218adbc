"""Build-time checks that a config's data is there and fits its model.

The data files (:func:`check_data_files`): a missing annotation, label CSV
or data folder otherwise ends a long log with a traceback from deep inside
the data loader, with no word about where the path is set.

The backbone owns the input geometry (``audio_length``, ``num_mel_bins``,
``img_size``); the pipelines restate it in their transforms. A mismatch
otherwise fails deep in the first forward, or not at all when a shorter
spectrogram is silently padded.
"""
import inspect
import os.path as osp
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from mmaction.registry import DATASETS, MODELS, TRANSFORMS
from ..datasets import AudioVisualDataset
from ..models.backbones import CAVMAEViT

#: The data loaders the runner builds (a config may carry other
#: ``*_dataloader`` variables from its base files, unused).
DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
#: Pipeline-step arguments that restate a backbone argument:
#: ``{transform: {argument: backbone argument}}``.
AUDIO_ARGS = {'KaldiFbank': {'target_length': 'audio_length',
                             'num_mel_bins': 'num_mel_bins'},
              'FrameAudioSegments': {'segment_length': 'audio_length'}}
#: Steps that cut the spectrogram after ``KaldiFbank``: the model gets
#: their length, the fbank's ``target_length`` is the clip's (CAV-MAE
#: Sync's segments).
CUTS = ('FrameAudioSegments', )
#: Said after each missing path when the config has no
#: ``data_preparation`` (the data set base configs set one).
DEFAULT_PREPARATION = 'docs/data.md ("Preparing a data set") says how to ' \
    'make it'


class MissingDataError(FileNotFoundError):
    """Data files or folders of a config's data loaders are not there; the
    message has one line per missing path."""


def check_data_files(cfg, dataloaders: Sequence[str] = DATALOADERS) -> None:
    """Check that the files the data loaders read first are there.

    For each ``AudioVisualDataset`` of the given data loaders (wrapped data
    sets included): its ``data_root`` folder, ``ann_file`` and
    ``label_csv`` (relative paths taken from ``data_root``, as the data set
    does). A path under a missing ``data_root`` is not listed again. Each
    missing path is one line: the path, the config keys that set it, and
    how to make it (the config's ``data_preparation``, where ``{data_root}``
    stands for the data set's root) or to point ``--data-root`` elsewhere.
    The media files the annotations name are not checked here (the data
    set's bad-sample policy handles those).

    Args:
        cfg (mmengine.Config | dict): A full config.
        dataloaders (Sequence[str]): The data loaders the job runs.
            Defaults to :data:`DATALOADERS`.

    Raises:
        MissingDataError: A path is missing.
    """
    missing: Dict[str, List[str]] = {}  # path -> config keys
    roots: Dict[str, str] = {}  # path -> its data set's data root
    for key in dataloaders:
        loader = cfg.get(key)
        if not isinstance(loader, dict):
            continue
        for dataset_key, dataset in iter_datasets(loader.get('dataset'),
                                                  f'{key}.dataset'):
            if _resolve(DATASETS, dataset) is not AudioVisualDataset:
                continue
            for arg, path in _missing_paths(dataset):
                missing.setdefault(path, []).append(f'{dataset_key}.{arg}')
                roots[path] = dataset.get('data_root') or osp.dirname(path)
    if not missing:
        return
    preparation = cfg.get('data_preparation') or DEFAULT_PREPARATION
    lines = [
        f'{path}: not found (set by {", ".join(keys)}); ' +
        preparation.replace('{data_root}', roots[path]) +
        ', or give its folder with --data-root'
        for path, keys in missing.items()
    ]
    raise MissingDataError('the data of the config is not there:\n  ' +
                           '\n  '.join(lines))


def _missing_paths(dataset: dict) -> Iterator[Tuple[str, str]]:
    """``(argument, path)`` of the missing data root, annotation and label
    CSV of one data set config."""
    data_root = dataset.get('data_root')
    if data_root and not osp.isdir(data_root):
        yield 'data_root', data_root
    for arg in ('ann_file', 'label_csv'):
        path = dataset.get(arg)
        if not path:
            continue
        if data_root and not osp.isabs(path):
            if not osp.isdir(data_root):
                continue  # listed with its root
            path = osp.join(data_root, path)
        if not osp.isfile(path):
            yield arg, path


def check_data_geometry(cfg) -> None:
    """Check the data pipelines of ``cfg`` against ``cfg.model.backbone``.

    The pipelines of the runner's data loaders (:data:`DATALOADERS`,
    wrapped data sets included) and the ``test_pipeline`` (the inference
    API's) are checked: each ``KaldiFbank``'s ``target_length`` and
    ``num_mel_bins`` (the transform's defaults when unset) against the
    backbone's ``audio_length`` and ``num_mel_bins`` (in a pipeline that
    cuts segments, ``FrameAudioSegments.segment_length`` instead of the
    clip fbank's ``target_length``), and the final frame
    size (the last ``CenterCrop.crop_size``, or a ``RandomResizedCrop`` /
    ``Resize`` ``scale`` that fixes the output size) against ``img_size``.
    Configs whose backbone is not a ``CAVMAEViT`` (e.g. the single-branch
    backbones) are not checked.

    Args:
        cfg (mmengine.Config | dict): A full config (``model`` and data).

    Raises:
        ValueError: A pipeline disagrees with the backbone; the message
            names both config keys, one mismatch per line.
    """
    backbone_cfg = (cfg.get('model') or {}).get('backbone') or {}
    if _resolve(MODELS, backbone_cfg) is not CAVMAEViT:
        return
    backbone = {**_defaults(CAVMAEViT), **backbone_cfg}
    errors = []
    for key, pipeline in _pipelines(cfg):
        errors += _check_audio(key, pipeline, backbone)
        errors += _check_frames(key, pipeline, backbone['img_size'])
    if errors:
        raise ValueError('the data pipelines do not fit the model:\n' +
                         '\n'.join(errors))


def _check_audio(key: str, pipeline: list,
                 backbone: Dict[str, Any]) -> List[str]:
    errors = []
    cut = any(_type_name(step) in CUTS for step in pipeline)
    for index, step in enumerate(pipeline):
        args = AUDIO_ARGS.get(_type_name(step))
        if args is None:
            continue
        defaults = _defaults(_resolve(TRANSFORMS, step))
        for arg, owner in args.items():
            if cut and _type_name(step) == 'KaldiFbank' and \
                    arg == 'target_length':
                continue  # the clip's length; the cut is checked
            value = step.get(arg, defaults.get(arg))
            if value != backbone[owner]:
                default = '' if arg in step else ' (its default)'
                errors.append(
                    f'{key}[{index}] {_type_name(step)}.{arg}={value!r}'
                    f'{default} vs model.backbone.{owner}='
                    f'{backbone[owner]!r}')
    return errors


def _check_frames(key: str, pipeline: list, img_size: int) -> List[str]:
    """The last step that sets the frame size decides it; a keep-ratio
    resize after the last crop leaves it open (nothing to check)."""
    last = None
    for index, step in enumerate(pipeline):
        sets = _frame_size(step)
        if sets is not None:
            last = (index, step) + sets
    if last is None or last[4] is None:
        return []
    index, step, arg, value, size = last
    if size == (img_size, img_size):
        return []
    return [f'{key}[{index}] {_type_name(step)}.{arg}={value!r} vs '
            f'model.backbone.img_size={img_size!r}']


def _frame_size(step: dict) -> Optional[Tuple[str, Any, Optional[tuple]]]:
    """``(argument, value, (w, h) or None when not fixed)`` of a step that
    sets the frame size, None for a step that keeps it."""
    name = _type_name(step)
    if name == 'CenterCrop' and 'crop_size' in step:
        return 'crop_size', step['crop_size'], _pair(step['crop_size'])
    if name == 'RandomResizedCrop':  # MMPretrain/mmcv's has an output scale
        return 'scale', step.get('scale'), _pair(step.get('scale'))
    if name in ('Resize', 'AVResize'):
        keep_ratio = _defaults(_resolve(TRANSFORMS, step)).get(
            'keep_ratio', True)
        fixed = not step.get('keep_ratio', keep_ratio)
        return 'scale', step.get('scale'), \
            _pair(step.get('scale')) if fixed else None
    return None


def _pair(size) -> Optional[tuple]:
    """``(w, h)`` of a size given as an int or a pair, None if open."""
    if isinstance(size, int):
        size = (size, size)
    if isinstance(size, (list, tuple)) and len(size) == 2 and \
            all(isinstance(s, int) and s > 0 for s in size):
        return tuple(size)
    return None


def _pipelines(cfg) -> Iterator[Tuple[str, list]]:
    """``(config key, pipeline)`` of the runner's data loaders and of
    ``test_pipeline``."""
    for key in DATALOADERS:
        loader = cfg.get(key)
        if isinstance(loader, dict):
            yield from _dataset_pipelines(loader.get('dataset'),
                                          f'{key}.dataset')
    if isinstance(cfg.get('test_pipeline'), (list, tuple)):
        yield 'test_pipeline', cfg['test_pipeline']


def _dataset_pipelines(dataset, key: str) -> Iterator[Tuple[str, list]]:
    """Pipelines of a data set config and of the data sets it wraps."""
    for dataset_key, inner in iter_datasets(dataset, key):
        if isinstance(inner.get('pipeline'), (list, tuple)):
            yield f'{dataset_key}.pipeline', inner['pipeline']


def iter_datasets(dataset, key: str) -> Iterator[Tuple[str, dict]]:
    """``(config key, config)`` of a data set config and of the data sets
    it wraps (``dataset`` of ``RepeatDataset``, ``datasets`` of
    ``ConcatDataset``)."""
    if not isinstance(dataset, dict):
        return
    yield key, dataset
    yield from iter_datasets(dataset.get('dataset'), f'{key}.dataset')
    for index, inner in enumerate(dataset.get('datasets') or []):
        yield from iter_datasets(inner, f'{key}.datasets[{index}]')


def _type_name(cfg: dict) -> str:
    """``'X'`` of ``type='X'``, ``type='scope.X'`` or ``type=X``."""
    kind = cfg.get('type') if isinstance(cfg, dict) else None
    if isinstance(kind, str):
        return kind.split('.')[-1]
    return getattr(kind, '__name__', '')


def _resolve(registry, cfg: dict) -> Optional[type]:
    kind = cfg.get('type') if isinstance(cfg, dict) else None
    if isinstance(kind, str):
        return registry.get(kind)
    return kind if inspect.isclass(kind) else None


def _defaults(cls: Optional[type]) -> Dict[str, Any]:
    if cls is None:
        return {}
    return {name: param.default
            for name, param in inspect.signature(cls).parameters.items()
            if param.default is not inspect.Parameter.empty}
