# VGGSound in the reference's format (SPEC §2): annotation JSONs
# {"data": [{"video_id", "wav", "video_path", "labels"}]}, 16 kHz wavs and
# frames at <video_path>/frame_<i>/<video_id>.jpg; 309 classes, one label per
# clip (single-label: softmax, cross-entropy, accuracy).
_base_ = ['./av_pipelines.py']

# ---------------------------------------------------------------- paths --
# Change these (relative paths are taken from data_root).
data_root = 'data/vggsound'
ann_file_train = 'vgg_train_cleaned.json'  # + vgg_train_cleaned_weight.csv
ann_file_test = 'vgg_test_cleaned.json'
ann_file_retrieval = 'vgg_test_5_per_class_for_retrieval_cleaned.json'
label_csv = 'class_labels_indices_vgg.csv'
# What tools/train.py and tools/test.py say when the data is not there.
data_preparation = 'docs/data.md ("Preparing a data set") says how to make it'
# ------------------------------------------------------------------------
dataset_type = 'AudioVisualDataset'
num_workers = 8

# Batch sizes are per process; the recipes' totals are in the top configs.
_dataset = dict(type=dataset_type, data_root=data_root, label_csv=label_csv,
                multi_label=False)
_train = dict(num_workers=num_workers, persistent_workers=True,
              sampler=dict(type='DefaultSampler', shuffle=True))
_eval = dict(_train, sampler=dict(type='DefaultSampler', shuffle=False))
pretrain_dataloader = dict(
    _train, batch_size=64,
    dataset=dict(_dataset, ann_file=ann_file_train,
                 pipeline=_base_.pretrain_pipeline))
# Class-balanced sampling from <ann stem>_weight.csv (SPEC §2).
finetune_dataloader = dict(
    _train, batch_size=48, sampler=dict(type='ClassBalancedSampler'),
    dataset=dict(_dataset, ann_file=ann_file_train,
                 pipeline=_base_.finetune_pipeline))
eval_dataloader = dict(
    _eval, batch_size=48,
    dataset=dict(_dataset, ann_file=ann_file_test, test_mode=True,
                 pipeline=_base_.eval_pipeline))
eval_10frame_dataloader = dict(
    _eval, batch_size=8,
    dataset=dict(_dataset, ann_file=ann_file_test, test_mode=True,
                 pipeline=_base_.eval_10frame_pipeline))
retrieval_dataloader = dict(
    _eval, batch_size=48,
    dataset=dict(_dataset, ann_file=ann_file_retrieval, test_mode=True,
                 pipeline=_base_.eval_pipeline))
