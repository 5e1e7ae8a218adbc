# The toy pre-training (cavmae_toy_pretrain.py) read from webdataset tar
# shards instead of the files: the same model, pipeline, schedule, seed and
# validation (the retrieval split, still from files); only the training
# data source changes, with ShardStreamHook to drive it (seed, epoch,
# mid-epoch resume). Batch 8 on one process: 64 iterations per epoch over
# the 512 clips, as from the files. Make the shards first:
#   python tools/data/make_shards.py data/toy_av/pretrain.json \
#       --out-dir data/toy_av/shards --shard-size 64 --workers 2
#   python tools/train.py configs/cavmae_toy_pretrain_shards.py
_base_ = ['./cavmae_toy_pretrain.py']

shard_index = 'shards/index.json'  # relative to data_root
data_preparation = (
    'make it with: python tools/data/make_toy_av.py --out-dir {data_root} '
    '--extract --train-per-class 64 --duration 4 --width 160 --height 120 '
    '&& python tools/data/make_shards.py {data_root}/pretrain.json '
    '--out-dir {data_root}/shards --shard-size 64 --workers 2')
batch_size = 8
train_dataloader = dict(
    _delete_=True,
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    sampler=None,  # a stream: the data set orders and splits the samples
    dataset=dict(
        type='ShardedAVDataset',
        data_root={{_base_.data_root}},
        index_file=shard_index,
        label_csv={{_base_.label_csv}},
        multi_label=False,
        batch_size=batch_size,
        # 256 samples per worker and epoch: the buffer holds all of them
        # (about 60 MB of wav + JPEG bytes).
        shuffle_buffer=256,
        shuffle_initial=256,
        pipeline={{_base_.pretrain_pipeline}}))
custom_hooks = [dict(type='RandomStateHook'), dict(type='ShardStreamHook')]
