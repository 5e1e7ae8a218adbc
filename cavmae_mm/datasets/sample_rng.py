"""Per-sample random streams: a sample's augmentation as a function of
(seed, epoch, sample index), not of the state of a worker's generators.

A data set that knows the epoch and the index puts ``sample_seed(seed,
epoch, index)`` into the sample's ``results`` under :data:`SEED_KEY`; every
random transform draws from ``sample_random_state(results, stream)`` or
``sample_torch_generator(results, stream)`` with a stream name of its own
(``'frame_choice'``, ``'mixup'``, ...). The draws then do not depend on
which worker loads the sample, in which order, or whether the run was
resumed. Without the key (inference, a pipeline run by hand) the
transforms draw from the global generators, as they always did.
"""
import zlib
from typing import Optional

import numpy as np
import torch

SEED_KEY = 'sample_seed'


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A 63-bit seed for sample ``index`` in ``epoch`` of a run seeded with
    ``seed`` (independent streams for different triples)."""
    entropy = [int(seed) & 0xFFFFFFFFFFFFFFFF, int(epoch), int(index)]
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
