# The reference's "scale++" pre-training schedule (SPEC §6): 25 epochs,
# Adam lr 2e-4 at batch 256 (betas 0.95/0.999, wd 5e-7), lr halved every 5
# epochs from epoch 10, fp16 autocast (bfloat16 on the CPU).
max_epochs = 25
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1,
    val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='MixedPrecisionOptimWrapper',
    optimizer=dict(
        type='Adam', lr=2e-4, betas=(0.95, 0.999), weight_decay=5e-7,
        fused=True))
# MultiStepLR steps after each epoch: milestone m halves the lr from epoch
# m + 1 (1-based), as the reference's MultiStepLR(range(10, 1000, 5)).
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=True,
        begin=0,
        end=max_epochs,
        milestones=list(range(10, max_epochs, 5)),
        gamma=0.5)
]
# 2e-4 is for a total batch of 256; `--auto-scale-lr` rescales it linearly
# (the reference used 5e-5 at batch 48).
auto_scale_lr = dict(enable=False, base_batch_size=256)

custom_hooks = [dict(type='RandomStateHook')]
