# CAV-MAE ViT-B fine-tuning model: the encoder with trainable position
# embeddings, mean pooling, LayerNorm + Linear head (SPEC §3).
_base_ = [
    'mmaction::_base_/default_runtime.py', './cavmae_data_preprocessor.py'
]
custom_imports = dict(imports=['cavmae_mm'], allow_failed_imports=False)

model = dict(
    type='CAVMAERecognizer',
    mode='multimodal',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='CAVMAEViT',
        embed_dims=768,
        num_heads=12,
        mlp_ratio=4.,
        modality_specific_depth=11,
        shared_depth=1,
        audio_length=1024,
        num_mel_bins=128,
        img_size=224,
        patch_size=16,
        trainable_pos_embed=True,
        drop_path_rate=0.),
    cls_head=dict(
        type='CAVMAEClsHead',
        num_classes=527,
        in_channels=768,
        multi_class=True,
        loss_cls=dict(type='BCELossWithLogits'),
        average_clips='sigmoid'))
