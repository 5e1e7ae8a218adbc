"""Training data streamed from webdataset tar shards
(``tools/data/make_shards.py``): :class:`ShardedAVDataset` (``DATASETS``),
its epoch plan (:mod:`.plan`), the index format (:mod:`.index`) and
class-balanced repeats (:mod:`.balance`)."""
from .dataset import ShardedAVDataset, StreamState
from .index import INDEX_FORMAT, load_index, shard_key, write_index
from .plan import epoch_plan, iters_per_rank

__all__ = [
    'ShardedAVDataset', 'StreamState', 'INDEX_FORMAT', 'load_index',
    'shard_key', 'write_index', 'epoch_plan', 'iters_per_rank'
]
