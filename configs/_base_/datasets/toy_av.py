# The generated toy data set, as tools/run_toy_demo.py makes it:
#   python tools/data/make_toy_av.py --out-dir data/toy_av --extract \
#       --train-per-class 64 --duration 4 --width 160 --height 120
# 8 classes, 64 training + 6 validation clips per class, 5 of the validation
# clips per class for retrieval; read from the reference layout (16 kHz wav
# + 10 JPEG frames per clip) that --extract writes. The real pipeline at
# toy sizes: 4 s clips (384 fbank frames) and 112 x 112 frames.
# ---------------------------------------------------------------- paths --
data_root = 'data/toy_av'
ann_file_pretrain = 'pretrain.json'
ann_file_train = 'finetune_train.json'
ann_file_val = 'finetune_val.json'
ann_file_retrieval = 'retrieval.json'
label_csv = 'class_labels_indices.csv'
# ------------------------------------------------------------------------
dataset_type = 'AudioVisualDataset'
target_length = 384  # fbank frames (3.84 s of the 4 s clips)
img_size = 112
# The models' 16 x 16 patch grids at these sizes (for the decoder).
patch_grid_a = (128 // 16, target_length // 16)
patch_grid_v = (img_size // 16, img_size // 16)

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

# Toy clips carry one label each: single-label classification (accuracy).
pretrain_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file_pretrain,
        label_csv=label_csv,
        multi_label=False,
        source='extracted',
        pipeline=pretrain_pipeline))
finetune_train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file_train,
        label_csv=label_csv,
        multi_label=False,
        source='extracted',
        pipeline=finetune_pipeline))
finetune_val_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file_val,
        label_csv=label_csv,
        multi_label=False,
        source='extracted',
        test_mode=True,
        pipeline=eval_pipeline))
finetune_val_10frame_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file_val,
        label_csv=label_csv,
        multi_label=False,
        source='extracted',
        test_mode=True,
        pipeline=eval_10frame_pipeline))
retrieval_dataloader = dict(
    batch_size=20,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=ann_file_retrieval,
        label_csv=label_csv,
        multi_label=False,
        source='extracted',
        test_mode=True,
        pipeline=eval_pipeline))
