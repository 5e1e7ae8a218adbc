# CAV-MAE Sync's released model (SPEC_SYNC "Released checkpoint", docs/
# sync.md): the CAV-MAE ViT-B with 416-row audio segments (an 8 x 26 patch
# grid), a cls token and 8 register tokens per modality (registers dropped
# after the modality-specific blocks), no contrastive heads, fixed 75 %
# masking, MAE + 0.01 * InfoNCE (temperature 0.05) on the cls tokens.
_base_ = ['./cavmae_vit_base_pretrain.py']

model = dict(
    backbone=dict(
        audio_length=416,
        cls_token=True,
        num_register_tokens=8,
        keep_register_tokens=False,
        contrastive_heads=False,
        contrastive_feature=None,  # 'cls' with cls_token
        multi_ratio_masking=False))
