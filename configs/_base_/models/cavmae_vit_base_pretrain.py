# CAV-MAE ViT-B pre-training model (SPEC §3-§4): 11 modality-specific + 1
# shared layer, 8-layer decoder, 75 % masking, MAE + 0.01 * InfoNCE.
_base_ = [
    'mmaction::_base_/default_runtime.py', './cavmae_data_preprocessor.py'
]
custom_imports = dict(imports=['cavmae_mm'], allow_failed_imports=False)

model = dict(
    type='CAVMAE',
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
        mask_ratio_a=0.75,
        mask_ratio_v=0.75,
        audio_mask_mode='unstructured',
        trainable_pos_embed=False),
    # The patch grids, patch size and embed_dims of the neck and head come
    # from the backbone (CAVMAE sets them).
    neck=dict(
        type='CAVMAEPretrainDecoder',
        decoder_embed_dims=512,
        decoder_depth=8,
        decoder_num_heads=16),
    head=dict(
        type='CAVMAEPretrainHead',
        loss_mae=dict(
            type='MaskedPatchReconstructionLoss', norm_pix=True,
            loss_weight=1.0),
        loss_contrastive=dict(
            type='AVInfoNCELoss', temperature=0.05, bidirectional=False,
            gather_distributed=True, loss_weight=0.01)))
