# The reference's AudioSet-2M fine-tuning schedule (SPEC §6): batch 48, 10
# epochs of class-balanced sampling, Adam lr 1e-5 (head x50), lr halved every
# epoch from epoch 2, weights of epochs 1-10 averaged, fp16 autocast.
max_epochs = 10
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1,
    val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='MixedPrecisionOptimWrapper',
    optimizer=dict(
        type='Adam', lr=1e-5, betas=(0.95, 0.999), weight_decay=5e-7,
        fused=True),
    paramwise_cfg=dict(custom_keys={'cls_head': dict(lr_mult=50.)}))
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=True,
        begin=0,
        end=max_epochs,
        milestones=list(range(2, max_epochs)),
        gamma=0.5)
]
auto_scale_lr = dict(enable=False, base_batch_size=48)

custom_hooks = [
    dict(type='RandomStateHook'),
    dict(type='WeightAveragingHook', begin=1, end=10, evaluate_on='test')
]
