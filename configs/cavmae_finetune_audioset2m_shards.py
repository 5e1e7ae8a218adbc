# cavmae_finetune_audioset2m.py (batch 48, class-balanced, 10 epochs) with
# the training data streamed from webdataset tar shards (made as in
# cavmae_pretrain_shards.py). Class balance from shards: each sample read
# is repeated by its expected count under the reference's weighted
# sampling (ShardedAVDataset balance='class'; how it differs from
# ClassBalancedSampler: docs/data.md, "Shards"). Validation and test read
# files.
_base_ = ['./cavmae_finetune_audioset2m.py']

shard_index = 'shards_2m/index.json'  # relative to data_root
data_preparation = (
    'docs/data.md ("Preparing a data set") says how to make the files; '
    'then: python tools/data/make_shards.py '
    '{data_root}/audioset_2m_cleaned.json --out-dir {data_root}/shards_2m')
batch_size = 48  # per process
train_dataloader = dict(
    _delete_=True,
    batch_size=batch_size,
    num_workers={{_base_.num_workers}},
    persistent_workers=True,
    sampler=None,
    dataset=dict(
        type='ShardedAVDataset',
        data_root={{_base_.data_root}},
        index_file=shard_index,
        label_csv={{_base_.label_csv}},
        multi_label=True,
        batch_size=batch_size,
        balance='class',
        shuffle_buffer=500,
        shuffle_initial=500,
        pipeline={{_base_.finetune_pipeline}}))
custom_hooks = [
    dict(type='RandomStateHook'),
    dict(type='ShardStreamHook'),
    dict(type='BadSampleReportHook'),
    dict(type='WeightAveragingHook', begin=1, end=10, evaluate_on='test'),
]
