# CAV-MAE Sync pre-training on AudioSet-2M (docs/sync.md "Configs" and
# "Recipes"): the released model (416-row audio segments, cls token, 8
# registers), one random frame position of 16 per clip with its own audio
# segment. The released code has no training recipe: the optimizer,
# schedule and batch are CAV-MAE's "scale++" (SPEC §6: total batch 256 =
# 4 processes x 64 clips, 25 epochs, Adam 2e-4, halved every 5 epochs from
# epoch 10, fp16 autocast). Validated by retrieval over all 16 frames of
# the 5-per-class subset, scores aggregated 'diagonal_mean'.
#   bash tools/dist_train.sh configs/cavmae_sync_pretrain.py 4
_base_ = [
    './_base_/models/cavmae_sync_vit_base_pretrain.py',
    './_base_/datasets/audioset_sync.py',
    './_base_/schedules/cavmae_pretrain_25e.py',
]

train_dataloader = {{_base_.sync_pretrain_dataloader}}
val_dataloader = {{_base_.sync_retrieval_dataloader}}
test_dataloader = {{_base_.sync_retrieval_dataloader}}
val_evaluator = {{_base_.sync_retrieval_evaluator}}
test_evaluator = {{_base_.sync_retrieval_evaluator}}
default_hooks = dict(
    checkpoint=dict(save_best='retrieval/a2v_R@1', rule='greater'))
