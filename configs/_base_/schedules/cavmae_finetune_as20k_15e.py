# The reference's AudioSet-20K fine-tuning schedule (SPEC §6): batch 36, 15
# epochs, Adam lr 5e-5 (head x100), lr halved every epoch from epoch 5,
# weights of epochs 3-15 averaged, fp16 autocast.
_base_ = ['./cavmae_finetune.py']

max_epochs = 15
train_cfg = dict(max_epochs=max_epochs)
optim_wrapper = dict(
    optimizer=dict(lr=5e-5),
    paramwise_cfg=dict(custom_keys={'cls_head': dict(lr_mult=100.)}))
# Halved after every epoch from epoch 5 (MultiStepLR steps after each epoch).
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, begin=0, end=max_epochs,
         milestones=list(range(5, max_epochs)), gamma=0.5)
]
auto_scale_lr = dict(base_batch_size=36)
custom_hooks = [
    dict(type='RandomStateHook'),
    dict(type='WeightAveragingHook', begin=3, end=max_epochs,
         evaluate_on='test')
]
