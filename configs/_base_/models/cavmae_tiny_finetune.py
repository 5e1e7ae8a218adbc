# Tiny fine-tuning model matching cavmae_tiny_pretrain.py.
_base_ = ['./cavmae_vit_base_finetune.py']

model = dict(
    backbone=dict(
        embed_dims=64, num_heads=4, modality_specific_depth=2,
        shared_depth=1),
    cls_head=dict(in_channels=64))
