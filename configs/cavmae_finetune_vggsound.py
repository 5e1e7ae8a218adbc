# Audio-visual fine-tuning on VGGSound (309 classes, one label each) with
# class-balanced sampling, SPEC §6: batch 48, 10 epochs, cross-entropy,
# lr 1e-4 with a x10 head, weights of epochs 3-10 averaged; top-1/top-5
# accuracy, 10-frame softmax ensemble at test (reference: 65.5-65.9 %).
#   python tools/train.py configs/cavmae_finetune_vggsound.py
_base_ = [
    './_base_/models/cavmae_vit_base_finetune.py',
    './_base_/datasets/vggsound.py',
    './_base_/schedules/cavmae_finetune_vggsound_10e.py',
]

model = dict(
    cls_head=dict(
        num_classes=309,
        multi_class=False,
        loss_cls=dict(type='CrossEntropyLoss'),
        average_clips='prob'))

train_dataloader = {{_base_.finetune_dataloader}}
val_dataloader = {{_base_.eval_dataloader}}
test_dataloader = {{_base_.eval_10frame_dataloader}}
val_evaluator = dict(
    type='AccMetric',
    metric_list=('top_k_accuracy', ),
    metric_options=dict(top_k_accuracy=dict(topk=(1, 5))))
test_evaluator = val_evaluator

# AS-2M (+ VGGSound) pre-trained checkpoint.
load_from = 'work_dirs/cavmae_pretrain_vggsound/epoch_25.pth'
find_unused_parameters = True
