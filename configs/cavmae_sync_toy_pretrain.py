# Pre-train a tiny CAV-MAE Sync (the tiny CAV-MAE of cavmae_toy_pretrain.py
# with Sync's options) on the sync toy data (_base_/datasets/toy_av_sync.py:
# clips of timed events). Each training sample is one random frame position
# of a clip with its own 0.96 s audio segment (audio_length = the segment
# length, 96 fbank rows), a cls token per modality (the contrastive loss and
# retrieval use it) and 4 register tokens per modality, as the released
# model (registers not kept, no contrastive heads, fixed mask ratios).
# Recipe, budget and schedule are CAV-MAE's toy ones (the same 50 % masking,
# contrastive weight 1, 3840 steps of batch 8: _base_/schedules/
# cavmae_toy_pretrain_60e.py). Validation: frame-aggregated retrieval and
# segment <-> frame alignment on all 8 positions of the retrieval clips.
# The toy comparison with CAV-MAE: tools/run_toy_sync_demo.py.
_base_ = [
    './_base_/models/cavmae_tiny_pretrain.py',
    './_base_/datasets/toy_av_sync.py',
    './_base_/schedules/cavmae_toy_pretrain_60e.py',
]

model = dict(
    backbone=dict(
        audio_length={{_base_.segment_length}},
        img_size={{_base_.img_size}},
        mask_ratio_a=0.5,
        mask_ratio_v=0.5,
        cls_token=True,
        num_register_tokens=4),
    head=dict(loss_contrastive=dict(loss_weight=1.0)))

train_dataloader = {{_base_.pretrain_dataloader}}
val_dataloader = {{_base_.retrieval_dataloader}}
test_dataloader = {{_base_.retrieval_dataloader}}
val_evaluator = {{_base_.retrieval_evaluator}}
test_evaluator = {{_base_.retrieval_evaluator}}

default_hooks = dict(
    logger=dict(interval=32),
    checkpoint=dict(interval=10, max_keep_ckpts=1, save_best=None))
log_processor = dict(window_size=32)
