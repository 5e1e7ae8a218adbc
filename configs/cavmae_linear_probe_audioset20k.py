# Linear probing on AudioSet-20K: the pre-trained encoder stays frozen and
# only the head (LayerNorm + Linear) trains. The AS-20K recipe otherwise
# (the head's lr is 5e-5 x 100). The backbone is frozen through its
# learning rate (lr_mult=0, no weight decay): Adam then leaves it exactly
# unchanged, and this works the same under DDP.
_base_ = ['./cavmae_finetune_audioset20k.py']

optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={'backbone': dict(lr_mult=0., decay_mult=0.)}))
