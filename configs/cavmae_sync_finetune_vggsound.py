# CAV-MAE Sync audio-visual fine-tuning on VGGSound (309 classes, one label
# each) with class-balanced sampling: the model and data of
# cavmae_sync_finetune_audioset20k.py (16 frames per clip, self-attention
# aggregation) with CAV-MAE's VGGSound recipe (SPEC §6: 48 clips per step,
# 10 epochs, cross-entropy, lr 1e-4 with a x10 head, halved every epoch
# from 2, weights of epochs 3-10 averaged; top-1/top-5 accuracy); the
# released code has no fine-tuning recipe. A step is 48 x 16 = 768 frame
# pairs (activation checkpointing on).
#   python tools/train.py configs/cavmae_sync_finetune_vggsound.py
_base_ = [
    './_base_/models/cavmae_sync_vit_base_finetune.py',
    './_base_/datasets/vggsound_sync.py',
    './_base_/schedules/cavmae_finetune_vggsound_10e.py',
]

model = dict(
    backbone=dict(with_cp=True),
    cls_head=dict(
        num_classes=309,
        multi_class=False,
        loss_cls=dict(type='CrossEntropyLoss'),
        average_clips='prob'))

train_dataloader = {{_base_.sync_finetune_dataloader}}
val_dataloader = {{_base_.sync_eval_dataloader}}
test_dataloader = {{_base_.sync_eval_dataloader}}
val_evaluator = dict(
    type='AccMetric',
    metric_list=('top_k_accuracy', ),
    metric_options=dict(top_k_accuracy=dict(topk=(1, 5))))
test_evaluator = val_evaluator

# AS-2M (+ VGGSound) Sync pre-trained checkpoint.
load_from = 'work_dirs/cavmae_sync_pretrain_vggsound/epoch_25.pth'
find_unused_parameters = True
