# The CAV-MAE visual branch inside MMAction2's 2D recognizer: the stock
# Recognizer2D and TSNHead (average consensus over frames) on top of
# CAVMAEVisualBranch, fed by the CAV-MAE frame pipeline. Training sees one
# random frame of the 10 per clip, evaluation all 10 (TSN-style average).
# Tiny model, toy data set.
#   python tools/train.py configs/mmaction_tsn_cavmae_toy.py \
#       --cfg-options load_from=<CAV-MAE checkpoint>
_base_ = [
    'mmaction::_base_/default_runtime.py',
    './_base_/datasets/toy_av.py',
    './_base_/schedules/mmaction_toy_10e.py',
]
custom_imports = dict(imports=['cavmae_mm'], allow_failed_imports=False)

model = dict(
    type='Recognizer2D',
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCHW'),
    backbone=dict(
        type='CAVMAEVisualBranch',
        embed_dims=64,
        num_heads=4,
        modality_specific_depth=2,
        shared_depth=1,
        img_size={{_base_.img_size}},
        trainable_pos_embed=True),
    cls_head=dict(
        type='TSNHead',
        num_classes=8,
        in_channels=64,
        dropout_ratio=0.,
        average_clips='prob'))


def frame_pipeline(mode):
    return [
        dict(type='SampleAVFrames', mode=mode),
        dict(type='LoadAVFrames'),
        dict(type='AVResize', scale=(-1, {{_base_.img_size}})),
        dict(type='CenterCrop', crop_size={{_base_.img_size}}),
        dict(type='FormatShape', input_format='NCHW'),
        dict(type='PackActionInputs', meta_keys=('video_id', ))
    ]


train_dataloader = dict(
    _base_._train, batch_size=16,
    dataset=dict(
        _base_._dataset, ann_file={{_base_.ann_file_train}},
        pipeline=frame_pipeline('random')))
val_dataloader = dict(
    _base_._eval, batch_size=8,
    dataset=dict(
        _base_._dataset, ann_file={{_base_.ann_file_val}}, test_mode=True,
        pipeline=frame_pipeline('all')))
test_dataloader = val_dataloader
