# CAV-MAE Sync audio-visual fine-tuning on AudioSet-2M with class-balanced
# sampling: the model and data of cavmae_sync_finetune_audioset20k.py (16
# frames per clip, self-attention aggregation) with CAV-MAE's AS-2M recipe
# (SPEC §6: 48 clips per step, 10 epochs, lr 1e-5 with a x50 head, halved
# every epoch from 2, weights of epochs 1-10 averaged); the released code
# has no fine-tuning recipe. A step is 48 x 16 = 768 frame pairs
# (activation checkpointing on).
#   python tools/train.py configs/cavmae_sync_finetune_audioset2m.py
_base_ = [
    './_base_/models/cavmae_sync_vit_base_finetune.py',
    './_base_/datasets/audioset_sync.py',
    './_base_/schedules/cavmae_finetune_as2m_10e.py',
]

model = dict(backbone=dict(with_cp=True))
train_dataloader = {{_base_.sync_finetune_2m_dataloader}}
val_dataloader = {{_base_.sync_eval_dataloader}}
test_dataloader = {{_base_.sync_eval_dataloader}}
val_evaluator = dict(type='MultiLabelMetric')
test_evaluator = dict(type='MultiLabelMetric')

load_from = 'work_dirs/cavmae_sync_pretrain/epoch_25.pth'
find_unused_parameters = True
