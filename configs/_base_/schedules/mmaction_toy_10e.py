# The schedule and evaluation of the toy examples that put a CAV-MAE branch
# inside MMAction2's own recognizers: 10 epochs of Adam at 1e-3, halved after
# epochs 6 and 8, validated every 5 epochs by top-1/top-5 accuracy.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=10, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    optimizer=dict(
        type='Adam', lr=1e-3, betas=(0.95, 0.999), weight_decay=5e-7,
        fused=True))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[6, 8], gamma=0.5)
]
val_evaluator = dict(
    type='AccMetric',
    metric_list=('top_k_accuracy', ),
    metric_options=dict(top_k_accuracy=dict(topk=(1, 5))))
test_evaluator = val_evaluator
