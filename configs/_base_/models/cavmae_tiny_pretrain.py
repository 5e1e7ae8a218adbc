# A tiny CAV-MAE (2 + 1 layers, dim 64) for tests and the CPU toy demo; the
# same code as ViT-B, smaller numbers.
_base_ = ['./cavmae_vit_base_pretrain.py']

model = dict(
    backbone=dict(
        embed_dims=64, num_heads=4, modality_specific_depth=2,
        shared_depth=1),
    neck=dict(decoder_embed_dims=32, decoder_depth=1, decoder_num_heads=4))
