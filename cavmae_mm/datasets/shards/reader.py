"""Reading samples out of tar shards with webdataset (its tar iteration,
member grouping and stream opening); what is ours is the bookkeeping:
positions inside a shard, a structural check of each sample and the
report of a shard that ends early."""
import json
from typing import Callable, Dict, Iterator, Optional, Tuple

from .index import AUDIO_SUFFIX, META_SUFFIX

#: ``report(sample_id, path, reason)``: called for each problem found.
Reporter = Callable[[int, str, str], None]


def read_shard(url: str, first: int, end: int, first_id: int,
               expected: int,
               report: Reporter) -> Iterator[Tuple[int, Optional[Dict]]]:
    """Samples ``first .. end - 1`` of one shard.

    Yields ``(sample id, sample)`` with ``sample id = first_id +
    position``; ``sample`` is webdataset's dict (``__key__``, ``wav``,
    ``json``, ``frame_<i>.jpg`` bytes) plus ``_meta`` (the parsed JSON) and
    ``_url``, or None for a sample that is there but unusable (reported).
    A shard that cannot be opened or ends before ``end`` (a truncated
    file) is reported once, with the number of samples it had out of
    ``expected``; its missing samples are not yielded.

    Args:
        url (str): Shard path or URL (``webdataset.gopen``).
        first (int): First position to yield.
        end (int): One past the last position.
        first_id (int): Global id of the shard's sample 0.
        expected (int): Samples the index lists for the shard.
        report: Called as ``report(sample_id, path, reason)``.
    """
    from webdataset.gopen import gopen
    from webdataset.tariterators import group_by_keys, tar_file_expander
    errors = []

    def handler(exn: Exception) -> bool:
        errors.append(exn)
        return True  # skip what follows the broken member

    position = 0
    try:
        stream = gopen(url)
    except Exception as err:
        report(first_id, url, f'cannot open shard ({err})')
        return
    try:
        files = tar_file_expander([dict(url=url, stream=stream)],
                                  handler=handler)
        for sample in group_by_keys(files, handler=handler):
            if position >= end:
                break
            if position >= first:
                yield first_id + position, _checked(
                    sample, url, first_id + position, report)
            position += 1
    finally:
        stream.close()
    if position < end:
        reason = f'{type(errors[-1]).__name__}: {errors[-1].args[0]}' \
            if errors else 'end of file'
        report(first_id + position, url,
               f'shard ends after {position} of {expected} samples '
               f'(truncated?): {reason}')


def _checked(sample: Dict, url: str, sample_id: int,
             report: Reporter) -> Optional[Dict]:
    """The sample with its parsed JSON, or None (reported) without a JSON
    or a wav (a member cut off by truncation, a foreign tar)."""
    key = sample.get('__key__', '?')
    missing = [suffix for suffix in (META_SUFFIX, AUDIO_SUFFIX)
               if suffix not in sample]
    if missing:
        report(sample_id, f'{url}:{key}',
               f'incomplete sample: no {", ".join(missing)} member')
        return None
    try:
        meta = json.loads(sample[META_SUFFIX])
    except ValueError as err:
        report(sample_id, f'{url}:{key}', f'unreadable JSON ({err})')
        return None
    sample['_meta'] = meta
    sample['_url'] = url
    return sample


def frames_of(sample: Dict) -> Dict[int, bytes]:
    """``{position: JPEG bytes}`` of a sample's ``frame_<i>.jpg``."""
    frames = {}
    for name, data in sample.items():
        if name.startswith('frame_') and name.endswith('.jpg'):
            position = name[len('frame_'):-len('.jpg')]
            if position.isdigit():
                frames[int(position)] = data
    return frames
