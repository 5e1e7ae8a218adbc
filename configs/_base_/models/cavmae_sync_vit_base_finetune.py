# CAV-MAE Sync fine-tuning model (SPEC_SYNC "Fine-tuning model"): the
# released encoder (416-row segments, cls, 8 registers) with trainable
# position embeddings; per frame the feature cat(cls_a, cls_v) [2 x 768] of
# the modality-specific blocks; a clip's 16 frame features classified
# together by a learned cls token + 2 transformer blocks
# (CAVMAEFrameAggregationHead 'self_attention_cls'). Single-modality modes
# use the shared block with the joint norms (unimodal_norms='joint').
_base_ = ['./cavmae_vit_base_finetune.py']

model = dict(
    backbone=dict(
        audio_length=416,
        cls_token=True,
        num_register_tokens=8,
        keep_register_tokens=False,
        unimodal_norms='joint',
        multimodal_feature='cls'),
    cls_head=dict(
        type='CAVMAEFrameAggregationHead',
        aggregate='self_attention_cls',
        in_channels=2 * 768,
        num_heads=12,
        depth=2))
