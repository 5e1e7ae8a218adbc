# cavmae_pretrain.py (AudioSet-2M, "scale++", total batch 256 = 4 x 64)
# with the training data streamed from webdataset tar shards: sequential
# reads of ~1000-sample tar files instead of 22 million small files at
# random. The retrieval validation reads files. Make the shards, train
# (multi-node: docs/workflows.md):
#   python tools/data/make_shards.py \
#       data/audioset/audioset_2m_cleaned.json \
#       --out-dir data/audioset/shards_2m --shard-size 1000 --workers 16
#   bash tools/dist_train.sh configs/cavmae_pretrain_shards.py 4
_base_ = ['./cavmae_pretrain.py']

shard_index = 'shards_2m/index.json'  # relative to data_root
data_preparation = (
    'docs/data.md ("Preparing a data set") says how to make the files; '
    'then: python tools/data/make_shards.py '
    '{data_root}/audioset_2m_cleaned.json --out-dir {data_root}/shards_2m')
batch_size = 64  # per process
train_dataloader = dict(
    _delete_=True,
    batch_size=batch_size,
    num_workers={{_base_.num_workers}},
    persistent_workers=True,
    sampler=None,  # a stream: the data set orders and splits the samples
    dataset=dict(
        type='ShardedAVDataset',
        data_root={{_base_.data_root}},
        index_file=shard_index,
        label_csv={{_base_.label_csv}},
        multi_label=True,
        batch_size=batch_size,
        # Raw samples (~0.5 MB: wav + 10 JPEGs) in each worker's buffer:
        # 500 x 8 workers ~ 2 GB of host memory per process.
        shuffle_buffer=500,
        shuffle_initial=500,
        pipeline={{_base_.pretrain_pipeline}}))
custom_hooks = [
    dict(type='RandomStateHook'),
    dict(type='ShardStreamHook'),
    dict(type='BadSampleReportHook'),
]
