# CAV-MAE pre-training continued on VGGSound from an AudioSet-2M pre-trained
# checkpoint (the "AS-2M + VGGSound pre-train" model of SPEC §1). SPEC §6
# gives no separate numbers for this stage, so it reuses the AudioSet
# recipe (Adam 2e-4 at batch 256, 25 epochs, halving from epoch 10).
#   bash tools/dist_train.sh configs/cavmae_pretrain_vggsound.py 4
_base_ = [
    './_base_/models/cavmae_vit_base_pretrain.py',
    './_base_/datasets/vggsound.py',
    './_base_/schedules/cavmae_pretrain_25e.py',
]

train_dataloader = {{_base_.pretrain_dataloader}}
val_dataloader = {{_base_.retrieval_dataloader}}
test_dataloader = {{_base_.retrieval_dataloader}}
val_evaluator = dict(type='AVRetrievalMetric')
test_evaluator = dict(type='AVRetrievalMetric')
default_hooks = dict(
    checkpoint=dict(save_best='retrieval/a2v_R@1', rule='greater'))

# The AudioSet pre-training's last checkpoint (or a converted reference
# checkpoint, tools/convert_official_ckpt.py).
load_from = 'work_dirs/cavmae_pretrain/epoch_25.pth'
