"""The JSON index of a shard set: which tar files, how many samples each.

Written by ``tools/data/make_shards.py`` next to the shards::

    {"format": "cavmae_mm.shards/1", "complete": true, "num_samples": N,
     "shards": [{"url": "shard-000000.tar", "num_samples": 1000,
                 "bytes": 523000000, "label_counts": {"/m/09x0r": 412}},
                ...],
     "options": {...}, "next_item": ..., "failures": [...]}

``url`` is relative to the index's folder (or absolute, or anything
``webdataset.gopen`` opens: ``pipe:...``, ``http://...``);
``label_counts`` counts each label token of the annotation (``mid``s), so
class-balanced weights need no pass over the data.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional

INDEX_FORMAT = 'cavmae_mm.shards/1'
#: Keys of one sample in a shard (``<key>.<suffix>`` members of the tar).
AUDIO_SUFFIX = 'wav'
META_SUFFIX = 'json'
FRAME_SUFFIX = 'frame_{}.jpg'


def frame_suffix(position: int) -> str:
    """``frame_<position>.jpg``."""
    return FRAME_SUFFIX.format(position)


def shard_key(video_id: str) -> str:
    """The tar member stem (``__key__``) of a clip: webdataset splits a
    member name at the first dot of its basename, so dots and slashes of a
    clip id (AudioSet's ``abc_40.000``) become ``_``; the id itself is kept
    in the sample's JSON."""
    return str(video_id).replace('.', '_').replace('/', '_')


def is_remote(url: str) -> bool:
    """Whether a shard url is opened as is (a pipe or a URL)."""
    return url.startswith('pipe:') or '://' in url


def resolve_url(url: str, root: Optional[str]) -> str:
    """``url`` relative to ``root`` unless absolute or remote."""
    if root is None or is_remote(url) or osp.isabs(url):
        return url
    return osp.join(root, url)


def load_index(index_file: str) -> Dict:
    """Read and check a shard index.

    Raises:
        ValueError: not a shard index, an unfinished one, or counts that do
            not add up.
    """
    with open(index_file, encoding='utf-8') as f:
        index = json.load(f)
    if not isinstance(index, dict) or index.get('format') != INDEX_FORMAT:
        raise ValueError(f'{index_file}: not a shard index (format '
                         f'{INDEX_FORMAT!r})')
    if not index.get('complete', False):
        raise ValueError(f'{index_file}: the shard set is unfinished; run '
                         'tools/data/make_shards.py again to complete it')
    shards: List[Dict] = index['shards']
    total = sum(int(shard['num_samples']) for shard in shards)
    if total != int(index['num_samples']):
        raise ValueError(f'{index_file}: the shards hold {total} samples, '
                         f'the index says {index["num_samples"]}')
    return index


def write_index(index_file: str, index: Dict) -> None:
    """Write atomically (temporary file + rename)."""
    tmp_path = f'{index_file}.tmp{os.getpid()}'
    with open(tmp_path, 'w', encoding='utf-8') as f:
        json.dump(index, f, indent=1)
    os.replace(tmp_path, index_file)
