# The reference's AudioSet-2M fine-tuning schedule (SPEC §6): batch 48, 10
# epochs of class-balanced sampling, Adam lr 1e-5 (head x50), lr halved every
# epoch from epoch 2, weights of epochs 1-10 averaged, fp16 autocast.
_base_ = ['./cavmae_finetune.py']

max_epochs = 10
train_cfg = dict(max_epochs=max_epochs)
optim_wrapper = dict(
    optimizer=dict(lr=1e-5),
    paramwise_cfg=dict(custom_keys={'cls_head': dict(lr_mult=50.)}))
# Halved after every epoch from epoch 2 (MultiStepLR steps after each epoch).
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=max_epochs,
         milestones=list(range(2, max_epochs)), gamma=0.5)
]
auto_scale_lr = dict(base_batch_size=48)
custom_hooks = [
    dict(type='RandomStateHook'),
    dict(type='WeightAveragingHook', begin=1, end=max_epochs,
         evaluate_on='test')
]
