# The CAV-MAE audio branch inside MMAction2's own audio recognizer: the
# stock RecognizerAudio and TSNAudioHead on top of CAVMAEAudioBranch, fed by
# the CAV-MAE audio pipeline (Kaldi fbank) in MMAction2's audio layout
# ([1, 1, T, F] per clip under `audios`). Tiny model, toy data set.
#   python tools/train.py configs/mmaction_audio_recognizer_cavmae_toy.py \
#       --cfg-options load_from=<CAV-MAE checkpoint>
_base_ = [
    'mmaction::_base_/default_runtime.py',
    './_base_/datasets/toy_av.py',
    './_base_/schedules/mmaction_toy_10e.py',
]
custom_imports = dict(imports=['cavmae_mm'], allow_failed_imports=False)

model = dict(
    type='RecognizerAudio',
    data_preprocessor=dict(type='ActionDataPreprocessor'),
    backbone=dict(
        type='CAVMAEAudioBranch',
        embed_dims=64,
        num_heads=4,
        modality_specific_depth=2,
        shared_depth=1,
        audio_length={{_base_.target_length}},
        trainable_pos_embed=True),
    cls_head=dict(
        type='TSNAudioHead',
        num_classes=8,
        in_channels=64,
        dropout_ratio=0.,
        average_clips='prob'))

# KaldiFbank writes `audio` [T, F]; MMAction2's audio recognizer reads
# `audios` [clips, 1, T, F]: rename to [1, T, F], then FormatAudioShape.
audio_pipeline = [
    dict(type='LoadAudioWaveform'),
    dict(type='KaldiFbank', target_length={{_base_.target_length}}),
    dict(type='NormalizeFbank'),
    dict(
        type='KeyMapper',
        transforms=[dict(type='ImageToTensor', keys=['audios'])],
        mapping=dict(audios='audio'),
        remapping=dict(audios='audios')),
    dict(type='FormatAudioShape', input_format='NCTF'),
    dict(type='PackActionInputs', meta_keys=('video_id', ))
]
train_pipeline = audio_pipeline[:3] + [dict(type='FbankNoise')] + \
    audio_pipeline[3:]
train_dataloader = dict(
    _base_._train, batch_size=16,
    dataset=dict(
        _base_._dataset, ann_file={{_base_.ann_file_train}},
        pipeline=train_pipeline))
val_dataloader = dict(
    _base_._eval, batch_size=16,
    dataset=dict(
        _base_._dataset, ann_file={{_base_.ann_file_val}}, test_mode=True,
        pipeline=audio_pipeline))
test_dataloader = val_dataloader
