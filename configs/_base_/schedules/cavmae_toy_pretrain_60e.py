# The toy pre-training schedule, shared by every toy pre-training config
# (CAV-MAE on the base toy, CAV-MAE and CAV-MAE Sync on the sync toy) so a
# comparison runs on the same budget: 60 epochs of batch 8, Adam at lr 1e-3
# after a 100-iteration linear warmup, halved at epochs 40 and 50,
# retrieval validated every 10 epochs from epoch 10. (Checkpointing and
# logging stay in the configs: default_hooks and log_processor come from
# the model bases' default_runtime.)
max_epochs = 60
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=10,
    val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    optimizer=dict(
        type='Adam', lr=1e-3, betas=(0.95, 0.999), weight_decay=5e-7,
        fused=True))
param_scheduler = [
    # The optional linear warmup (SPEC §6 lists none for the reference).
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=100),
    dict(
        type='MultiStepLR',
        by_epoch=True,
        begin=0,
        end=max_epochs,
        milestones=[40, 50],
        gamma=0.5)
]
auto_scale_lr = dict(enable=False, base_batch_size=8)

custom_hooks = [dict(type='RandomStateHook')]
randomness = dict(seed=0)
