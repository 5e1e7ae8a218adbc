"""Per-sample random streams: a sample's augmentation as a function of
(seed, epoch, sample index), not of the state of a worker's generators.

Why: data loader workers draw their augmentation (frame choice, mixup
partner and ratio, SpecAugment masks, noise) from their own global
generators. No checkpoint holds those states (persistent workers keep
theirs across epochs), so a resumed run draws other augmentations than an
uninterrupted one. Here every draw is instead a function of the sample's
seed, which the checkpoint does determine.

The mechanism, end to end:

1. A data set owns a :class:`SampleSeeds`: the run's seed and the current
   epoch in shared memory, created in the data set's ``__init__``, so it
   reaches the workers, persistent ones included (they are copies of the
   data set made at the first iteration: by fork, or pickled at process
   start-up under spawn; both share the memory). It is disabled until set:
   a data set that nobody sets (inference, a pipeline run by hand, a run
   without the hook) draws from the global generators as it always did.
2. ``RandomStateHook.before_train_epoch`` (main process, before the epoch's
   data loader iterator starts and sends indices to the workers) calls
   :func:`set_sample_seeds` on the training data set with ``runner.seed``
   and ``runner.epoch``; it walks MMEngine's wrappers (``ConcatDataset``:
   each inner data set gets its own stream, ``salt``) and calls each data
   set's ``set_sample_seed(seed, epoch, salt)``.
3. When a worker loads sample ``index``, the data set puts
   ``SampleSeeds.seed_for(index)`` (``sample_seed(seed, epoch, index)``)
   into the sample's ``results`` under :data:`SEED_KEY`. A sampler that
   draws with replacement (``ClassBalancedSampler``) yields
   :class:`SampleIndex` objects whose ``repeat`` tells the k-th draw of an
   index in the epoch apart, so that repeated draws get their own
   augmentations as in the reference; a mixup partner, or a sample drawn to
   replace a bad one, gets :func:`derived_seed` of the sample's seed.
4. Every random transform draws from ``sample_random_state(results,
   stream)``, ``sample_torch_generator(results, stream)`` or
   ``sample_python_random(results, stream)`` with a stream name of its own
   (``'frame_choice'``, ``'mixup'``, ...). The draws then do not depend on
   which worker loads the sample, in which order, or whether the run was
   resumed, nor on which other transforms draw. Without the key the three
   return the global generators: the same draws as before.

Data sets that enumerate their own samples (a webdataset/shard stream)
plug in the same way: inherit :class:`SeededSamples` (``set_sample_seed``,
``clear_sample_seed``), create ``self.sample_seeds = SampleSeeds()`` in
``__init__``, and put ``self.sample_seeds.seed_for(position)``, when not
None, into each sample's results under :data:`SEED_KEY` (position: the
sample's place in the epoch's order, the same whichever worker yields
it). Repeating wrappers (``RepeatDataset``, MMEngine's
``ClassBalancedDataset``) map several indices to one inner index; the data
sets under them are left unseeded (a warning says so).
"""
import logging
import multiprocessing as mp
import random
import zlib
from typing import List, Optional

import numpy as np
import torch
from mmengine.logging import print_log

SEED_KEY = 'sample_seed'
_MASK64 = 0xFFFFFFFFFFFFFFFF


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A 63-bit seed for sample ``index`` in ``epoch`` of a run seeded with
    ``seed`` (independent streams for different triples)."""
    entropy = [int(seed) & _MASK64, int(epoch), int(index)]
    state = np.random.SeedSequence(entropy).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def derived_seed(seed: int, name: str) -> int:
    """A 63-bit seed for the part ``name`` of a sample seeded with ``seed``
    (a mixup partner, a replacement sample), independent of it."""
    entropy = [int(seed) & _MASK64, zlib.crc32(name.encode())]
    state = np.random.SeedSequence(entropy).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def _stream_seed(results: dict, stream: str) -> Optional[int]:
    seed = results.get(SEED_KEY) if results is not None else None
    if seed is None:
        return None
    return zlib.crc32(stream.encode()) ^ int(seed)


def sample_random_state(results: dict, stream: str) -> np.random.RandomState:
    """NumPy's generator for one random stream of this sample: seeded from
    ``results[SEED_KEY]`` and ``stream``, or NumPy's global generator when
    the sample carries no seed."""
    seed = _stream_seed(results, stream)
    if seed is None:
        return np.random.mtrand._rand
    words = np.random.SeedSequence([seed & 0xFFFFFFFF,
                                    seed >> 32]).generate_state(4)
    return np.random.RandomState(words)


def sample_torch_generator(results: dict,
                           stream: str) -> Optional[torch.Generator]:
    """torch's generator for one random stream of this sample, or ``None``
    (torch's global generator) when the sample carries no seed."""
    seed = _stream_seed(results, stream)
    if seed is None:
        return None
    generator = torch.Generator()
    generator.manual_seed(seed & 0x7FFFFFFFFFFFFFFF)
    return generator


def sample_python_random(results: dict, stream: str) -> random.Random:
    """Python's generator for one random stream of this sample, or the
    ``random`` module's global one (``random.randint`` is its method) when
    the sample carries no seed."""
    seed = _stream_seed(results, stream)
    if seed is None:
        return random._inst
    return random.Random(seed)


class SampleIndex(int):
    """A data set index that a sampler yields for the ``repeat``-th draw
    (0: the first) of that index in the epoch; a plain ``int`` otherwise,
    and it stays one through the data loader's queues."""

    def __new__(cls, index: int, repeat: int = 0) -> 'SampleIndex':
        obj = super().__new__(cls, index)
        obj.repeat = int(repeat)
        return obj

    def __reduce__(self):
        return (SampleIndex, (int(self), self.repeat))


class SampleSeeds:
    """The run's seed and the current epoch in shared memory: set in the
    main process, read by the data loader workers.

    Created before the workers start (in the data set's ``__init__``); it
    crosses into them by inheritance (fork) or process start-up pickling
    (spawn). Deep copies share it.
    """

    def __init__(self) -> None:
        # enabled, seed, epoch, salt; a spawn-context array also works in
        # forked workers, while a fork-context one cannot go to spawned ones.
        self._state = mp.get_context('spawn').RawArray('Q', 4)

    def __deepcopy__(self, memo):
        return self

    def set(self, seed: int, epoch: int, salt: int = 0) -> None:
        """Seed the samples of ``epoch`` from ``seed`` (call it between
        epochs, in the main process)."""
        self._state[1] = int(seed) & _MASK64
        self._state[2] = int(epoch)
        self._state[3] = int(salt)
        self._state[0] = 1

    def clear(self) -> None:
        """Back to the global generators."""
        self._state[0] = 0

    @property
    def enabled(self) -> bool:
        return bool(self._state[0])

    def seed_for(self, index: int) -> Optional[int]:
        """The seed of sample ``index`` (a :class:`SampleIndex` adds its
        ``repeat``), or None when not set."""
        enabled, seed, epoch, salt = self._state[:]
        if not enabled:
            return None
        result = sample_seed(seed, epoch, int(index))
        if salt:
            result = derived_seed(result, f'dataset{salt}')
        repeat = getattr(index, 'repeat', 0)
        if repeat:
            result = derived_seed(result, f'repeat{repeat}')
        return result


class SeededSamples:
    """``set_sample_seed`` / ``clear_sample_seed`` (what
    :func:`set_sample_seeds` calls) of a data set that creates
    ``self.sample_seeds = SampleSeeds()`` in its ``__init__``, and
    :meth:`draw_another` for a bad sample's replacement."""

    def set_sample_seed(self, seed: int, epoch: int, salt: int = 0) -> None:
        """Seed the samples of ``epoch`` from ``seed`` (also in the workers
        that already run); ``salt`` tells data sets of one run apart."""
        self.sample_seeds.set(seed, epoch, salt)

    def clear_sample_seed(self) -> None:
        """Draw from the global generators again."""
        self.sample_seeds.clear()

    def draw_another(self, seed: Optional[int]):
        """``(index, seed)`` of a random other sample in place of a bad one
        whose seed was ``seed``: drawn from its stream ``'refetch'``, or by
        MMEngine's ``_rand_another`` (with seed None) when unseeded."""
        if seed is None:
            return self._rand_another(), None
        state = sample_random_state({SEED_KEY: seed}, 'refetch')
        return (int(state.randint(0, len(self))),
                derived_seed(seed, 'refetch'))


def _is_repeating(dataset) -> bool:
    from mmengine.dataset import ClassBalancedDataset, RepeatDataset
    return isinstance(dataset, (RepeatDataset, ClassBalancedDataset))


def set_sample_seeds(dataset, seed: Optional[int],
                     epoch: int) -> List:
    """Call ``set_sample_seed(seed, epoch, salt)`` on ``dataset`` and the
    data sets its wrappers hold (``seed=None``: ``clear_sample_seed()``).

    Returns:
        list: The data sets seeded.
    """
    found, stack, seen, repeated = [], [(dataset, False)], set(), False
    while stack:
        current, under_repeat = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        under_repeat = under_repeat or _is_repeating(current)
        if hasattr(current, 'set_sample_seed'):
            if seed is None or under_repeat:
                current.clear_sample_seed()
                repeated = repeated or seed is not None
            else:
                current.set_sample_seed(seed, epoch, len(found))
                found.append(current)
        inner = list(getattr(current, 'datasets', []) or [])
        inner.append(getattr(current, 'dataset', None))
        stack.extend((d, under_repeat) for d in reversed(inner))
    if repeated:
        print_log(
            'Data sets under RepeatDataset/ClassBalancedDataset keep drawing '
            'their augmentation from the workers\' global generators: a '
            'resumed run is not exactly the uninterrupted one',
            logger='current', level=logging.WARNING)
    return found
