# Fine-tune the toy pre-trained CAV-MAE for audio-visual classification of
# the 8 toy classes (single label: cross-entropy, accuracy), with the
# fine-tuning recipe's pipeline (mixup, SpecAugment, noise, label
# smoothing), head learning-rate multiplier, halving schedule and weight
# averaging. Step 2 of the toy demo (tools/run_toy_demo.py):
#   python tools/train.py configs/cavmae_toy_finetune.py \
#       --cfg-options load_from=work_dirs/cavmae_toy_pretrain/epoch_N.pth
_base_ = [
    './_base_/models/cavmae_tiny_finetune.py',
    './_base_/datasets/toy_av.py',
]

model = dict(
    backbone=dict(
        audio_length={{_base_.target_length}},
        img_size={{_base_.img_size}}),
    cls_head=dict(
        num_classes=8,
        multi_class=False,
        loss_cls=dict(type='CrossEntropyLoss'),
        average_clips='prob'))

train_dataloader = {{_base_.finetune_train_dataloader}}
val_dataloader = {{_base_.finetune_val_dataloader}}  # middle frame
test_dataloader = {{_base_.finetune_val_10frame_dataloader}}  # 10 frames
val_evaluator = dict(
    type='AccMetric',
    metric_list=('top_k_accuracy', ),
    metric_options=dict(top_k_accuracy=dict(topk=(1, 5))))
test_evaluator = val_evaluator

max_epochs = 8
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1,
    val_interval=4)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    optimizer=dict(
        type='Adam', lr=2e-4, betas=(0.95, 0.999), weight_decay=5e-7,
        fused=True),
    paramwise_cfg=dict(custom_keys={'cls_head': dict(lr_mult=10.)}))
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=True,
        begin=0,
        end=max_epochs,
        milestones=list(range(4, max_epochs)),
        gamma=0.5)
]
auto_scale_lr = dict(enable=False, base_batch_size=16)

default_hooks = dict(
    logger=dict(interval=8),
    checkpoint=dict(interval=1, max_keep_ckpts=1))
custom_hooks = [
    dict(type='RandomStateHook'),
    dict(type='WeightAveragingHook', begin=3, evaluate_on='test')
]
log_processor = dict(window_size=8)
randomness = dict(seed=0)
find_unused_parameters = True
