# VGGSound in the reference's format (SPEC §2): annotation JSONs
# {"data": [{"video_id", "wav", "video_path", "labels"}]}, 16 kHz wavs and
# frames at <video_path>/frame_<i>/<video_id>.jpg; 309 classes, one label per
# clip (single-label: softmax, cross-entropy, accuracy).
# ---------------------------------------------------------------- paths --
# Change these (relative paths are taken from data_root).
data_root = 'data/vggsound'
ann_file_train = 'vgg_train_cleaned.json'  # + vgg_train_cleaned_weight.csv
ann_file_test = 'vgg_test_cleaned.json'
ann_file_retrieval = 'vgg_test_5_per_class_for_retrieval_cleaned.json'
label_csv = 'class_labels_indices_vgg.csv'
# ------------------------------------------------------------------------
dataset_type = 'AudioVisualDataset'
target_length = 1024
img_size = 224
num_workers = 8

pretrain_pipeline = [
    dict(type='LoadAudioWaveform'),
    dict(type='KaldiFbank', target_length=target_length),
    dict(type='NormalizeFbank'),
    dict(type='FbankNoise'),
    dict(type='SampleAVFrames', mode='random'),
    dict(type='LoadAVFrames'),
    dict(type='AVResize', scale=(-1, img_size)),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', collect_keys=('audio', 'imgs'),
         meta_keys=('video_id', ))
]
finetune_pipeline = [
    dict(type='LoadAudioWaveform'),
    dict(type='SampleAVFrames', mode='random'),
    dict(type='LoadAVFrames'),
    dict(type='AVResize', scale=(-1, img_size)),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='AVMixup', prob=0.5, alpha=10.0),
    dict(type='KaldiFbank', target_length=target_length),
    dict(type='SpecAugment', freqm=48, timem=192),
    dict(type='NormalizeFbank'),
    dict(type='FbankNoise'),
    dict(type='LabelSmoothing', eps=0.1),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', collect_keys=('audio', 'imgs'),
         meta_keys=('video_id', ))
]
# Evaluation on the middle frame (frame 5), or on all 10 frames with the
# scores averaged by the head (multi-frame ensemble, SPEC §1).
eval_pipeline = [
    dict(type='LoadAudioWaveform'),
    dict(type='KaldiFbank', target_length=target_length),
    dict(type='NormalizeFbank'),
    dict(type='SampleAVFrames', mode='middle'),
    dict(type='LoadAVFrames'),
    dict(type='AVResize', scale=(-1, img_size)),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', collect_keys=('audio', 'imgs'),
         meta_keys=('video_id', ))
]
eval_10frame_pipeline = [
    dict(type='LoadAudioWaveform'),
    dict(type='KaldiFbank', target_length=target_length),
    dict(type='NormalizeFbank'),
    dict(type='SampleAVFrames', mode='all'),
    dict(type='LoadAVFrames'),
    dict(type='AVResize', scale=(-1, img_size)),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', collect_keys=('audio', 'imgs'),
         meta_keys=('video_id', ))
]

# Batch sizes are per process; the recipes' totals are in the top configs.
pretrain_dataloader = dict(
    batch_size=64,
    num_workers=num_workers,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file_train,
        label_csv=label_csv,
        multi_label=False,
        pipeline=pretrain_pipeline))
# Class-balanced sampling from <ann stem>_weight.csv (SPEC §2).
finetune_dataloader = dict(
    batch_size=48,
    num_workers=num_workers,
    persistent_workers=True,
    sampler=dict(type='ClassBalancedSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file_train,
        label_csv=label_csv,
        multi_label=False,
        pipeline=finetune_pipeline))
eval_dataloader = dict(
    batch_size=48,
    num_workers=num_workers,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file_test,
        label_csv=label_csv,
        multi_label=False,
        test_mode=True,
        pipeline=eval_pipeline))
eval_10frame_dataloader = dict(
    batch_size=8,
    num_workers=num_workers,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file_test,
        label_csv=label_csv,
        multi_label=False,
        test_mode=True,
        pipeline=eval_10frame_pipeline))
retrieval_dataloader = dict(
    batch_size=48,
    num_workers=num_workers,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file_retrieval,
        label_csv=label_csv,
        multi_label=False,
        test_mode=True,
        pipeline=eval_pipeline))
