"""Audio-visual training data streamed from tar shards (webdataset)."""
import bisect
import logging
import multiprocessing as mp
import os.path as osp
import random
from collections import deque
from typing import Callable, Dict, Iterator, List, Optional, Union

from mmengine.dataset import Compose
from mmengine.dist import get_dist_info
from mmengine.logging import print_log
from torch.utils.data import IterableDataset, get_worker_info

from mmaction.registry import DATASETS
from ..av_dataset import _partner_indexes
from ..av_io import AVDataError
from ..bad_samples import BadSampleCounter, BadSampleError
from ..class_labels import ClassLabels
from ..sample_rng import (SEED_KEY, SampleSeeds, SeededSamples,
                          derived_seed, sample_seed)
from .balance import class_weights, repeat_count, sample_weight
from .index import AUDIO_SUFFIX, load_index, resolve_url
from .plan import (batch_position, epoch_plan, first_batch, iters_per_rank,
                   segments, shard_sample_ids, slot_batches, slot_range)
from .reader import frames_of, read_shard

_ERROR_POLICIES = ('raise', 'skip')


class StreamState:
    """``seed``, ``epoch`` and the batches already done in the epoch, in
    shared memory: set by :class:`~cavmae_mm.engine.ShardStreamHook` in the
    main process, read by (persistent) data loader workers when an epoch's
    iteration starts. Deep copies share it."""

    def __init__(self, seed: int = 0) -> None:
        self._values = mp.get_context('spawn').RawArray('q', 3)
        self._values[0] = seed

    def __deepcopy__(self, memo):
        return self

    def set(self, seed: int, epoch: int, skip_batches: int = 0) -> None:
        self._values[0], self._values[1], self._values[2] = \
            int(seed), int(epoch), int(skip_batches)

    def get(self):
        return tuple(int(v) for v in self._values)


@DATASETS.register_module()
class ShardedAVDataset(SeededSamples, IterableDataset):
    """Audio-visual clips streamed from webdataset tar shards made by
    ``tools/data/make_shards.py``, through the same transforms as
    :class:`~cavmae_mm.datasets.AudioVisualDataset` (``LoadAudioWaveform``
    and ``LoadAVFrames`` decode the wav and JPEG bytes of a sample as they
    decode the files).

    Each epoch (see :mod:`.plan`): the shards in an order drawn from
    ``(seed, epoch)``; every rank runs ``L = N // (world_size *
    batch_size)`` iterations; rank and data loader worker read disjoint
    contiguous ranges of that order (a range may start or end inside a
    shard), each through a shuffle buffer seeded from ``(seed, epoch, rank,
    slot)``, so every sample is read once per epoch but for the last ``N
    mod (world_size * batch_size)`` positions. A range that comes up short
    (a truncated shard, a bad sample) is topped up with the samples after
    it (those are then seen twice), so the ranks never wait for each
    other. Once seeded (``set_sample_seed``: ``ShardStreamHook`` and
    ``RandomStateHook`` do it each epoch), each sample's augmentation draws
    from ``sample_seeds.seed_for(position)`` (``position`` its place in the
    epoch's batch order; see :mod:`..sample_rng`), a mixup partner from a
    seed derived from it.

    :class:`~cavmae_mm.engine.ShardStreamHook` (required in training) gives
    the dataset the runner's seed and epoch and, after ``--resume``, the
    batches already done in the epoch: the epoch then continues with the
    samples not yet seen (those before are read, not decoded).

    Class-balanced sampling (``balance='class'``): each sample read is
    emitted ``k`` times, ``k`` its expected count under the reference's
    weighted sampling with replacement (``num_draws * w / sum(w)``,
    ``w`` from ``1000 / (class count + 0.01)`` with the counts of the
    index) rounded up or down at random (``sample_seed``); the repeats
    meet the shuffle buffer, each range is cut or topped up to its length.

    Args:
        index_file (str): The shard set's ``index.json``.
        pipeline (list[dict | callable]): Transforms.
        batch_size (int): Samples per batch of each process; must equal the
            data loader's (checked by the hook). Defaults to 1.
        label_csv (str, optional): ``index,mid,display_name`` CSV (relative
            paths from ``data_root``). Defaults to None (then
            ``metainfo['classes']``).
        multi_label (bool): Multi-hot labels or a class index. Defaults to
            True.
        data_root (str, optional): Root of a relative ``index_file`` and
            ``label_csv`` (shard urls are relative to the index's folder).
            Defaults to None.
        shuffle (bool): Permute shards and shuffle within the buffer.
            Defaults to True.
        shuffle_buffer (int): Samples (raw bytes) in each worker's shuffle
            buffer. Defaults to 1000.
        shuffle_initial (int): Samples buffered before the first output.
            Defaults to 100.
        balance (str, optional): None or ``'class'``. Defaults to None.
        num_draws (int, optional): Samples per epoch that ``balance``
            aims at. Defaults to the index's sample count.
        mixup_pool (int): Recent samples from which a mixup partner is
            taken (``AVMixup.get_indexes`` modulo the pool). Defaults to 64.
        on_error (str, optional): ``'raise'`` or ``'skip'`` (count, report,
            take the next sample). Defaults to ``'raise'`` in test mode,
            else ``'skip'``.
        seed (int): Seed until the hook sets the runner's. Defaults to 0.
        test_mode (bool): Defaults to False.
        metainfo (dict, optional): ``classes`` without a label CSV.
    """

    def __init__(self,
                 index_file: str,
                 pipeline: List[Union[Dict, Callable]],
                 batch_size: int = 1,
                 label_csv: Optional[str] = None,
                 multi_label: bool = True,
                 data_root: Optional[str] = None,
                 shuffle: bool = True,
                 shuffle_buffer: int = 1000,
                 shuffle_initial: int = 100,
                 balance: Optional[str] = None,
                 num_draws: Optional[int] = None,
                 mixup_pool: int = 64,
                 on_error: Optional[str] = None,
                 seed: int = 0,
                 test_mode: bool = False,
                 metainfo: Optional[Dict] = None) -> None:
        if on_error is None:
            on_error = 'raise' if test_mode else 'skip'
        if on_error not in _ERROR_POLICIES:
            raise ValueError(f'on_error must be one of {_ERROR_POLICIES}, '
                             f'got {on_error!r}')
        if balance not in (None, 'class'):
            raise ValueError(f"balance must be None or 'class', got "
                             f'{balance!r}')
        if data_root is not None and not osp.isabs(index_file):
            index_file = osp.join(data_root, index_file)
        self.index_file = index_file
        self.index = load_index(index_file)
        root = osp.dirname(osp.abspath(index_file))
        self.urls = [resolve_url(s['url'], root)
                     for s in self.index['shards']]
        self.sizes = [int(s['num_samples']) for s in self.index['shards']]
        self.first_ids = shard_sample_ids(self.sizes)
        self.num_samples = int(self.index['num_samples'])
        self.class_labels = ClassLabels(label_csv, metainfo, data_root,
                                        'ShardedAVDataset')
        self.num_classes = self.class_labels.num_classes
        self.multi_label = multi_label
        self.batch_size = int(batch_size)
        self.shuffle = shuffle and not test_mode
        self.shuffle_buffer = max(int(shuffle_buffer), 1)
        self.shuffle_initial = int(shuffle_initial)
        self.balance = balance
        self.num_draws = int(num_draws or self.num_samples)
        self.mixup_pool = max(int(mixup_pool), 1)
        self.on_error = on_error
        self.test_mode = test_mode
        self.rank, self.world_size = get_dist_info()
        self.state = StreamState(seed)
        self.sample_seeds = SampleSeeds()
        self.bad_sample_counter = BadSampleCounter()
        self._bad_paths: Dict[int, str] = {}
        self.pipeline = Compose(pipeline)
        self._class_weights = class_weights(
            self.index['shards'], self.class_labels.lookup,
            self.num_classes) \
            if balance else None

    # ------------------------------------------------------------ state
    @property
    def metainfo(self) -> Dict:
        """``classes`` (and ``mids``)."""
        return dict(self.class_labels.metainfo)

    def set_epoch(self, seed: int, epoch: int, skip_batches: int = 0):
        """Stream ``epoch`` of a run seeded with ``seed``, without the first
        ``skip_batches`` batches of this rank (resume). Called in the main
        process before the epoch's iteration starts."""
        self.state.set(seed, epoch, skip_batches)

    def __len__(self) -> int:
        """Samples per rank and epoch, ``L * batch_size``."""
        return iters_per_rank(self.num_samples, self.world_size,
                              self.batch_size) * self.batch_size

    def sample_path(self, sample_id: int) -> str:
        """``<shard> sample <position>`` of a global sample id."""
        shard = bisect.bisect_right(self.first_ids, sample_id) - 1
        return self._bad_paths.get(sample_id) or \
            f'{self.urls[shard]} sample {sample_id - self.first_ids[shard]}'

    def _report(self, sample_id: int, path: str, reason: str) -> None:
        if self.on_error == 'raise':
            raise BadSampleError(sample_id, path, reason)
        self._bad_paths[sample_id] = path
        if self.bad_sample_counter.record(sample_id):
            print_log(f'Skipping bad sample #{sample_id} ({path}): {reason}',
                      logger='current', level=logging.WARNING)

    # ------------------------------------------------------------ stream
    def _range(self, plan, start: int, stop: int) -> Iterator:
        """Raw samples of positions ``[start, stop)`` (balanced: repeated)."""
        seed = self.state.get()[0]
        epoch = self.state.get()[1]
        for _, shard, first, end in segments(plan, start, stop):
            for sample_id, raw in read_shard(
                    self.urls[shard], first, end, self.first_ids[shard],
                    self.sizes[shard], self._report):
                if raw is None:
                    continue
                count = 1
                if self.balance:
                    weight = sample_weight(raw['_meta'],
                                           self.class_labels.lookup,
                                           self._class_weights)
                    count = repeat_count(
                        weight, self.num_draws,
                        self._class_weights.total,
                        sample_seed(seed, epoch, sample_id))
                for _ in range(count):
                    yield sample_id, raw

    def _shuffled(self, samples: Iterator, seed: int, epoch: int,
                  slot: int) -> Iterator:
        if not self.shuffle:
            return samples
        from webdataset.filters import _shuffle
        rng = random.Random(
            sample_seed(seed, epoch, (self.rank << 20) + slot))
        return _shuffle(samples, self.shuffle_buffer, self.shuffle_initial,
                        rng=rng)

    def _stream(self, plan, slot: int, seed: int, epoch: int) -> Iterator:
        """The slot's range through the shuffle buffer, then (if it came
        up short) the positions after it, wrapping around."""
        start, stop = slot_range(plan, self.rank, slot)
        yield from self._shuffled(self._range(plan, start, stop), seed,
                                  epoch, slot)
        print_log(
            f'ShardedAVDataset: rank {self.rank} worker slot {slot} ran '
            'short of samples (bad samples or shards, or balanced '
            'sampling); topping up with the following ones', logger='current',
            level=logging.WARNING)
        yield from self._range(plan, stop, stop + plan.total)
        raise RuntimeError('ShardedAVDataset: no usable sample in a whole '
                           'pass over the shards')

    def __iter__(self) -> Iterator[Dict]:
        seed, epoch, skip_batches = self.state.get()
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info else (1, 0)
        plan = epoch_plan(self.sizes, seed, epoch, self.world_size, workers,
                          self.batch_size, self.shuffle)
        slot, first = first_batch(skip_batches, worker, workers)
        wanted = slot_batches(plan, slot) * self.batch_size
        output = first * self.batch_size
        if output >= wanted:
            return
        pool = deque(maxlen=self.mixup_pool)
        to_skip = output  # resumed: done before the checkpoint
        for sample_id, raw in self._stream(plan, slot, seed, epoch):
            if to_skip:
                to_skip -= 1
                pool.append(raw)
                continue
            position = batch_position(plan, self.rank, slot, output)
            data = self._prepare(raw, sample_id, position, pool or [raw])
            pool.append(raw)
            if data is None:
                continue
            yield data
            output += 1
            if output >= wanted:
                return

    # ------------------------------------------------------------ samples
    def raw_to_results(self, raw: Dict, sample_id: int) -> Dict:
        """The ``results`` a raw shard sample starts the pipeline with."""
        meta = raw['_meta']
        key = f'{raw["_url"]}:{raw["__key__"]}'
        try:  # names or mids only: the index counts labels by them
            label_ids = self.class_labels.ids(
                meta.get('labels') or [], indices=False)
        except KeyError as err:
            raise AVDataError(key,
                              f'unknown label {err.args[0]!r}') from None
        return dict(
            video_id=str(meta.get('video_id', raw['__key__'])),
            label=self.class_labels.target(label_ids, self.multi_label),
            label_ids=label_ids, num_classes=self.num_classes,
            audio_bytes=raw[AUDIO_SUFFIX], audio_name=f'{key}.wav',
            frame_jpegs=frames_of(raw), frame_name=key, sample_idx=sample_id)

    def _prepare(self, raw, sample_id, position, pool):
        try:
            results = self.raw_to_results(raw, sample_id)
            results[SEED_KEY] = self.sample_seeds.seed_for(position)
            return self._run_transforms(results, self.pipeline.transforms,
                                        pool)
        except Exception as err:
            path = getattr(err, 'path', None) or \
                f'{raw["_url"]}:{raw["__key__"]}'
            reason = getattr(err, 'reason', None) or \
                f'{type(err).__name__}: {err}'
            self._report(sample_id, path, reason)
            return None

    def _run_transforms(self, results, transforms, pool):
        """The transforms; a mixup partner (``get_indexes``) is a recent
        sample of this worker's stream (the index modulo the pool)."""
        for index, transform in enumerate(transforms):
            if hasattr(transform, 'get_indexes'):
                seed = results.get(SEED_KEY)
                partners = []
                for k, draw in enumerate(
                        _partner_indexes(transform, self, results)):
                    partner = self.raw_to_results(pool[draw % len(pool)], -1)
                    partner[SEED_KEY] = None if seed is None else \
                        derived_seed(seed, f'partner{index}.{k}')
                    partners.append(self._run_transforms(
                        partner, transforms[:index], pool))
                results['mix_results'] = partners
            results = transform(results)
            if results is None:
                raise ValueError('the pipeline dropped the sample')
        return results
