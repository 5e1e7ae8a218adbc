# Audio-visual fine-tuning on AudioSet-2M with class-balanced sampling,
# SPEC §6: batch 48, 10 epochs, lr 1e-5 with a x50 head, weights of epochs
# 1-10 averaged (reference: 51.2 mAP).
#   python tools/train.py configs/cavmae_finetune_audioset2m.py
_base_ = [
    './_base_/models/cavmae_vit_base_finetune.py',
    './_base_/datasets/audioset.py',
    './_base_/schedules/cavmae_finetune_as2m_10e.py',
]

train_dataloader = {{_base_.finetune_2m_dataloader}}
val_dataloader = {{_base_.eval_dataloader}}
test_dataloader = {{_base_.eval_10frame_dataloader}}
val_evaluator = dict(type='MultiLabelMetric')
test_evaluator = dict(type='MultiLabelMetric')

load_from = 'work_dirs/cavmae_pretrain/epoch_25.pth'
find_unused_parameters = True
