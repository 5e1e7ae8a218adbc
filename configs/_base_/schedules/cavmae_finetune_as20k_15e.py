# The reference's AudioSet-20K fine-tuning schedule (SPEC §6): batch 36, 15
# epochs, Adam lr 5e-5 (head x100), lr halved every epoch from epoch 5,
# weights of epochs 3-15 averaged, fp16 autocast.
max_epochs = 15
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1,
    val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='MixedPrecisionOptimWrapper',
    optimizer=dict(
        type='Adam', lr=5e-5, betas=(0.95, 0.999), weight_decay=5e-7,
        fused=True),
    paramwise_cfg=dict(custom_keys={'cls_head': dict(lr_mult=100.)}))
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=True,
        begin=0,
        end=max_epochs,
        milestones=list(range(5, max_epochs)),
        gamma=0.5)
]
auto_scale_lr = dict(enable=False, base_batch_size=36)

custom_hooks = [
    dict(type='RandomStateHook'),
    dict(type='WeightAveragingHook', begin=3, end=15, evaluate_on='test')
]
