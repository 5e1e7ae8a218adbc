"""The audio-visual dataset: the reference's annotation format, or raw
videos decoded on the fly."""
import inspect
import json
import logging
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Union

from mmengine.fileio import list_from_file
from mmengine.logging import print_log

from mmaction.datasets import BaseActionDataset
from mmaction.registry import DATASETS
from .av_io import AVDataError, resolve_path
from .bad_samples import BadSampleCounter, BadSampleError
from .class_labels import ClassLabels
from .sample_rng import SEED_KEY, SampleSeeds, SeededSamples, derived_seed

_SOURCES = ('auto', 'extracted', 'video')
_ERROR_POLICIES = ('raise', 'skip')


def read_annotation(ann_file: str) -> List[Dict]:
    """The entries of a JSON annotation (``{"data": [...]}`` or a list) or
    of a text list (``<video> [labels]`` per line, tab-separated when paths
    contain spaces, ``#`` comments)."""
    if ann_file.lower().endswith('.json'):
        with open(ann_file, encoding='utf-8') as f:
            content = json.load(f)
        entries = content['data'] if isinstance(content, dict) else content
        return [dict(entry) for entry in entries]
    entries = []
    for line in list_from_file(ann_file):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        if '\t' in line:
            video, *labels = line.split('\t')
        else:
            video, *labels = line.split()
        entries.append(dict(video=video, labels=','.join(labels)))
    return entries


def parse_entry(entry: Dict, source: str, media_root: Optional[str],
                where: str) -> Dict:
    """Media paths of one annotation entry: ``video_id`` and either
    ``audio_path`` + ``frame_dir`` (pre-extracted) or ``filename`` (video).

    Args:
        entry (dict): The annotation entry.
        source (str): ``'auto'``, ``'extracted'`` or ``'video'``.
        media_root (str, optional): Root of relative paths.
        where (str): Position in the annotation, for error messages.
    """
    has_extracted = bool(entry.get('wav'))
    has_video = bool(entry.get('video'))
    use_extracted = source == 'extracted' or (source == 'auto'
                                              and has_extracted)
    if use_extracted and not has_extracted:
        raise ValueError(f"{where} has no `wav` (source='extracted')")
    if not use_extracted and not has_video:
        raise ValueError(f'{where} has no `video`' +
                         ('' if source == 'video' else ' and no `wav`'))
    main_path = entry['wav'] if use_extracted else entry['video']
    video_id = entry.get('video_id') or osp.splitext(
        osp.basename(main_path))[0]
    info = dict(video_id=str(video_id))
    if use_extracted:
        info['audio_path'] = resolve_path(entry['wav'], media_root)
        if entry.get('video_path'):
            info['frame_dir'] = resolve_path(entry['video_path'], media_root)
    else:
        info['filename'] = resolve_path(entry['video'], media_root)
    return info


def _partner_indexes(transform, dataset, results: Dict) -> List[int]:
    """``get_indexes(dataset[, results])`` (results: the seed)."""
    if len(inspect.signature(transform.get_indexes).parameters) > 1:
        return transform.get_indexes(dataset, results)
    return transform.get_indexes(dataset)


@DATASETS.register_module()
class AudioVisualDataset(SeededSamples, BaseActionDataset):
    """Audio-visual clips with single or multiple labels.

    Reads, unchanged, the reference's annotation JSON
    ``{"data": [{"video_id", "wav", "video_path", "labels"}, ...]}`` (frames
    at ``<video_path>/frame_<i>/<video_id>.jpg``, ``labels`` a comma-separated
    list of ``mid``s that ``label_csv`` maps to class indices), and raw
    videos decoded on the fly: JSON entries with a ``video`` path (and
    ``labels``), or a text list with one ``<video> [labels]`` per line
    (tab-separated when paths contain spaces; labels comma- or
    space-separated; ``#`` starts a comment). Labels may be ``mid``s,
    display names or class indices.

    Each sample's ``data_info`` holds ``video_id``, ``label`` (a float32
    multi-hot ``[num_classes]`` vector if ``multi_label``, else the class
    index, -1 when unlabelled), ``label_ids``, ``num_classes`` and either
    ``audio_path`` + ``frame_dir`` (pre-extracted) or ``filename`` (video).

    Bad samples: with ``on_error='raise'`` a failing sample raises a
    :class:`BadSampleError` naming the file and the reason. With ``'skip'``
    the dataset warns once per file, counts the failure (in shared memory,
    across data loader workers, see ``bad_sample_counter`` and
    ``BadSampleReportHook``) and draws another random sample, so a worker
    never dies on one bad file; never a constant stand-in tensor.

    Mixup: transforms that define ``get_indexes(dataset)`` (e.g.
    ``AVMixup``) get the partner samples they ask for, loaded by the
    transforms before them, in ``results['mix_results']``.

    Random streams: after ``set_sample_seed(seed, epoch)`` (by
    ``RandomStateHook``) sample ``idx``, its mixup partners and replacements
    carry seeds from ``sample_seed(seed, epoch, idx)`` that the random
    transforms draw from (see :mod:`.sample_rng`).

    Args:
        ann_file (str): JSON annotation (``{"data": [...]}`` or a list) or a
            text list of videos.
        pipeline (list[dict | callable]): Transforms.
        label_csv (str, optional): ``index,mid,display_name`` CSV; relative
            paths are taken from ``data_root``. Without it, the classes come
            from ``metainfo['classes']`` and labels must be class names or
            indices. Defaults to None.
        multi_label (bool): Multi-hot labels (AudioSet) or one class index
            (VGGSound). Defaults to True.
        source (str): ``'extracted'`` (wav + JPEG frames), ``'video'``
            (decode ``video``) or ``'auto'`` (extracted where an entry has a
            ``wav``, else video). Defaults to ``'auto'``.
        data_root (str, optional): Root of relative media paths (and of a
            relative ``ann_file``). Defaults to the folder of ``ann_file``.
        on_error (str, optional): ``'raise'`` or ``'skip'``; None means
            ``'raise'`` in test mode and ``'skip'`` in training.
            Defaults to None.
        max_refetch (int): Consecutive bad samples tolerated before giving
            up with the last error. Defaults to 100.
        test_mode (bool): Defaults to False.
        **kwargs: Passed to MMEngine's ``BaseDataset`` (``metainfo``,
            ``lazy_init``, ``indices``, ``serialize_data``...).
    """

    def __init__(self,
                 ann_file: str,
                 pipeline: List[Union[Dict, Callable]],
                 label_csv: Optional[str] = None,
                 multi_label: bool = True,
                 source: str = 'auto',
                 data_root: Optional[str] = None,
                 on_error: Optional[str] = None,
                 max_refetch: int = 100,
                 test_mode: bool = False,
                 **kwargs) -> None:
        if source not in _SOURCES:
            raise ValueError(f'source must be one of {_SOURCES}, '
                             f'got {source!r}')
        if on_error is None:
            on_error = 'raise' if test_mode else 'skip'
        if on_error not in _ERROR_POLICIES:
            raise ValueError(f'on_error must be one of {_ERROR_POLICIES}, '
                             f'got {on_error!r}')
        self.multi_label = multi_label
        self.source = source
        self.on_error = on_error
        self.bad_sample_counter = BadSampleCounter()
        self.sample_seeds = SampleSeeds()

        self.class_labels = ClassLabels(label_csv,
                                        kwargs.pop('metainfo', None),
                                        data_root, 'AudioVisualDataset')
        self.label_csv = self.class_labels.label_csv
        super().__init__(
            ann_file,
            pipeline=pipeline,
            data_root=data_root,
            metainfo=self.class_labels.metainfo,
            test_mode=test_mode,
            num_classes=self.class_labels.num_classes,
            max_refetch=max_refetch,
            **kwargs)

    # ------------------------------------------------------------ parsing
    def load_data_list(self) -> List[Dict]:
        """Parse the annotation file into ``data_info`` dicts."""
        media_root = self.data_root or osp.dirname(osp.abspath(
            self.ann_file))
        data_list = []
        for i, entry in enumerate(read_annotation(self.ann_file)):
            where = f'{self.ann_file}: item {i}'
            info = parse_entry(entry, self.source, media_root, where)
            try:
                info['label_ids'] = self.class_labels.ids(entry.get('labels'))
            except KeyError as err:
                raise ValueError(
                    f'{where}: unknown label {err.args[0]!r}') from None
            if not self.multi_label and len(info['label_ids']) > 1:
                raise ValueError(
                    f'{where} has {len(info["label_ids"])} labels but '
                    'multi_label=False')
            data_list.append(info)
        return data_list

    def get_data_info(self, idx: int) -> Dict:
        """The ``data_info`` of sample ``idx`` with its ``label``."""
        info = super().get_data_info(idx)
        label_ids = info['label_ids']
        info['num_classes'] = self.num_classes
        info['label'] = self.class_labels.target(label_ids, self.multi_label)
        return info

    # ------------------------------------------------------------ loading
    def _run_transforms(self, results: Dict, transforms: Sequence) -> Dict:
        for position, transform in enumerate(transforms):
            if hasattr(transform, 'get_indexes'):
                seed = results.get(SEED_KEY)
                results['mix_results'] = [
                    self._load_partner(
                        index, transforms[:position],
                        None if seed is None else derived_seed(
                            seed, f'partner{position}.{k}'))
                    for k, index in enumerate(
                        _partner_indexes(transform, self, results))
                ]
            results = transform(results)
            if results is None:
                return None
        return results

    def _load_partner(self, index: int, transforms: Sequence,
                      seed: Optional[int]) -> Dict:
        try:
            results = self._prepare(index, seed, transforms)
        except Exception as err:
            raise self._as_bad_sample(err, index) from err
        if results is None:
            raise BadSampleError(index, self.sample_path(index),
                                 'the pipeline dropped the mixup partner')
        return results

    def _prepare(self, idx: int, seed: Optional[int],
                 transforms: Optional[Sequence] = None):
        results = self.get_data_info(int(idx))  # a SampleIndex: plain
        if seed is not None:
            results[SEED_KEY] = seed
        return self._run_transforms(
            results,
            self.pipeline.transforms if transforms is None else transforms)

    def prepare_data(self, idx: int):
        """Run the pipeline on sample ``idx`` (with mixup partners)."""
        return self._prepare(idx, self.sample_seeds.seed_for(idx))

    def sample_path(self, idx: int) -> str:
        """The main file of sample ``idx`` (video, or wav)."""
        info = super().get_data_info(idx)
        return info.get('filename') or info.get('audio_path') or '?'

    def _as_bad_sample(self, err: Exception, idx: int) -> BadSampleError:
        if isinstance(err, BadSampleError):
            return err
        if isinstance(err, AVDataError):
            return BadSampleError(idx, err.path, err.reason)
        return BadSampleError(idx, self.sample_path(idx),
                              f'{type(err).__name__}: {err}')

    def __getitem__(self, idx: int) -> Dict:
        """The processed sample ``idx``; under ``on_error='skip'`` a bad
        sample is counted and replaced by a random other one."""
        if not self._fully_initialized:
            self.full_init()
        last_error = None
        seed = self.sample_seeds.seed_for(idx)
        for _ in range(self.max_refetch + 1):
            try:
                data = self._prepare(idx, seed)
            except Exception as err:
                bad = self._as_bad_sample(err, idx)
                if self.on_error == 'raise':
                    raise bad from err
                if self.bad_sample_counter.record(bad.index):
                    print_log(
                        f'Skipping {bad}; drawing another sample (later '
                        'failures of this sample are only counted).',
                        logger='current',
                        level=logging.WARNING)
                last_error = bad
                idx, seed = self.draw_another(seed)
                continue
            if data is None:
                if self.test_mode:
                    raise BadSampleError(idx, self.sample_path(idx),
                                         'the test pipeline returned None')
                idx, seed = self.draw_another(seed)
                continue
            return data
        raise RuntimeError(
            f'{self.max_refetch + 1} consecutive samples failed to load; '
            f'last: {last_error}') from last_error
