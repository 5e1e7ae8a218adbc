# What the reference's fine-tuning schedules share (SPEC §6): epoch-based
# training validated after every epoch, mixed precision (fp16 autocast with
# loss scaling on GPUs as the reference; bf16 on the CPU), Adam with betas
# (0.95, 0.999) and weight decay 5e-7, a learning-rate multiplier on the
# classification head, exact resume. The recipe files set the numbers.
train_cfg = dict(type='EpochBasedTrainLoop', val_begin=1, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='MixedPrecisionOptimWrapper',
    optimizer=dict(
        type='Adam', betas=(0.95, 0.999), weight_decay=5e-7, fused=True))
auto_scale_lr = dict(enable=False)
