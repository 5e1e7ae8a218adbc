# CAV-MAE Sync audio-visual fine-tuning on AudioSet-20K (docs/sync.md
# "Configs" and "Recipes"). Each clip is its 16 frame positions with their
# audio segments; per frame cat(cls_a, cls_v), and the clip's 16 frame
# features classified together (CAVMAEFrameAggregationHead,
# 'self_attention_cls'), in training and evaluation alike. The released
# code has no fine-tuning recipe: CAV-MAE's (SPEC §6: 36 clips per step on
# one process, 15 epochs, BCE, lr 5e-5 with a x100 head, halved every epoch
# from 5, weights of epochs 3-15 averaged, fp16 autocast), with mixup 0.5,
# SpecAugment 48/192 and label smoothing 0.1 (no noise: its time roll would
# move the segments off their frames).
# A step is 36 x 16 = 576 frame pairs: activation checkpointing is on
# (model.backbone.with_cp=False for speed where the memory allows).
#   python tools/train.py configs/cavmae_sync_finetune_audioset20k.py \
#       --cfg-options load_from=<Sync pre-trained checkpoint>
_base_ = [
    './_base_/models/cavmae_sync_vit_base_finetune.py',
    './_base_/datasets/audioset_sync.py',
    './_base_/schedules/cavmae_finetune_as20k_15e.py',
]

model = dict(backbone=dict(with_cp=True))
train_dataloader = {{_base_.sync_finetune_20k_dataloader}}
val_dataloader = {{_base_.sync_eval_dataloader}}  # all 16 frames
test_dataloader = {{_base_.sync_eval_dataloader}}
val_evaluator = dict(type='MultiLabelMetric')
test_evaluator = dict(type='MultiLabelMetric')

# A Sync pre-training checkpoint (or the released one converted): its
# encoder, cls and register tokens initialize the backbone; its decoder has
# no counterpart here and is ignored.
load_from = 'work_dirs/cavmae_sync_pretrain/epoch_25.pth'
# The 'cls' feature leaves the shared block and the final norms unused.
find_unused_parameters = True
