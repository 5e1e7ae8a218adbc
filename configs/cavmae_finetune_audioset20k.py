# Audio-visual fine-tuning on AudioSet-20K (balanced), SPEC §6: batch 36 on
# one process, 15 epochs, BCE, mixup 0.5 + SpecAugment + noise + label
# smoothing, lr 5e-5 with a x100 head, weights of epochs 3-15 averaged and
# evaluated with the 10-frame ensemble (reference: 42.0-42.2 mAP).
#   python tools/train.py configs/cavmae_finetune_audioset20k.py \
#       --cfg-options load_from=<pre-trained checkpoint>
_base_ = [
    './_base_/models/cavmae_vit_base_finetune.py',
    './_base_/datasets/audioset.py',
    './_base_/schedules/cavmae_finetune_as20k_15e.py',
]

train_dataloader = {{_base_.finetune_20k_dataloader}}
val_dataloader = {{_base_.eval_dataloader}}  # middle frame
test_dataloader = {{_base_.eval_10frame_dataloader}}  # 10-frame ensemble
val_evaluator = dict(type='MultiLabelMetric')
test_evaluator = dict(type='MultiLabelMetric')

# A CAV-MAE pre-training checkpoint: its encoder initializes the backbone;
# its decoder has no counterpart here and is ignored.
load_from = 'work_dirs/cavmae_pretrain/epoch_25.pth'
# The joint path leaves the single-modality norms unused.
find_unused_parameters = True
