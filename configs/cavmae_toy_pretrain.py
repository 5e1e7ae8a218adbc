# Pre-train a tiny CAV-MAE (2 + 1 layers, dim 64) on the generated toy data
# set: the real model, losses, masking and pipeline at sizes for a 2-core
# CPU (4 s clips, 112 x 112 frames). Validation: audio<->visual retrieval on
# the toy retrieval split. Step 1 of the toy demo (tools/run_toy_demo.py).
# Differences from the AudioSet recipe, for a tiny model trained from
# scratch in ~3800 steps: contrastive weight 1 instead of 0.01 (with 0.01 the
# embeddings do not align within this budget); 50 % masking instead of 75 %
# (a toy shape covers only a few 16 x 16 patches of a 112 x 112 frame, and
# at 75 % most views hide it); batch 8, lr 1e-3 after a 100-iteration linear
# warmup, halved at epochs 40 and 50 (_base_/schedules/
# cavmae_toy_pretrain_60e.py).
_base_ = [
    './_base_/models/cavmae_tiny_pretrain.py',
    './_base_/datasets/toy_av.py',
    './_base_/schedules/cavmae_toy_pretrain_60e.py',
]

model = dict(
    backbone=dict(
        audio_length={{_base_.target_length}},
        img_size={{_base_.img_size}},
        mask_ratio_a=0.5,
        mask_ratio_v=0.5),
    head=dict(loss_contrastive=dict(loss_weight=1.0)))

train_dataloader = {{_base_.pretrain_dataloader}}
val_dataloader = {{_base_.retrieval_dataloader}}
test_dataloader = {{_base_.retrieval_dataloader}}
val_evaluator = dict(type='AVRetrievalMetric')
test_evaluator = dict(type='AVRetrievalMetric')

# The retrieval split is also the demo's test set: no best-checkpoint
# selection on it, the demo reports the last epoch.
default_hooks = dict(
    logger=dict(interval=32),
    checkpoint=dict(interval=10, max_keep_ckpts=1, save_best=None))
log_processor = dict(window_size=32)
