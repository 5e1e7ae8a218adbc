# CAV-MAE Sync pre-training continued on VGGSound from the AudioSet-2M Sync
# checkpoint, mirroring cavmae_pretrain_vggsound.py (the released code has
# no recipe for it; CAV-MAE's AudioSet numbers, SPEC §6).
#   bash tools/dist_train.sh configs/cavmae_sync_pretrain_vggsound.py 4
_base_ = [
    './_base_/models/cavmae_sync_vit_base_pretrain.py',
    './_base_/datasets/vggsound_sync.py',
    './_base_/schedules/cavmae_pretrain_25e.py',
]

train_dataloader = {{_base_.sync_pretrain_dataloader}}
val_dataloader = {{_base_.sync_retrieval_dataloader}}
test_dataloader = {{_base_.sync_retrieval_dataloader}}
val_evaluator = {{_base_.sync_retrieval_evaluator}}
test_evaluator = {{_base_.sync_retrieval_evaluator}}
default_hooks = dict(
    checkpoint=dict(save_best='retrieval/a2v_R@1', rule='greater'))

# The AudioSet Sync pre-training's last checkpoint, or the released one
# converted (tools/convert_official_ckpt.py; docs/sync.md "Checkpoints").
load_from = 'work_dirs/cavmae_sync_pretrain/epoch_25.pth'
