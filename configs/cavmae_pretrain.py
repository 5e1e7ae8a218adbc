# CAV-MAE pre-training on AudioSet-2M, the reference's "scale++" recipe
# (SPEC §6): ViT-B, MAE + 0.01 * InfoNCE, total batch 256 = 4 processes x 64,
# 25 epochs, validated by audio<->visual retrieval on the 5-per-class subset.
#   bash tools/dist_train.sh configs/cavmae_pretrain.py 4
# With another number of processes, keep 256 by setting
# train_dataloader.batch_size, or pass --auto-scale-lr to rescale the lr.
# The contrastive loss gathers the embeddings of all processes, so every
# process sees the 255 negatives of the global batch (the reference's
# DataParallel used each GPU's 63: set
# model.head.loss_contrastive.gather_distributed=False for that).
_base_ = [
    './_base_/models/cavmae_vit_base_pretrain.py',
    './_base_/datasets/audioset.py',
    './_base_/schedules/cavmae_pretrain_25e.py',
]

train_dataloader = {{_base_.pretrain_dataloader}}
val_dataloader = {{_base_.retrieval_dataloader}}
test_dataloader = {{_base_.retrieval_dataloader}}
val_evaluator = dict(type='AVRetrievalMetric')
test_evaluator = dict(type='AVRetrievalMetric')
default_hooks = dict(
    checkpoint=dict(save_best='retrieval/a2v_R@1', rule='greater'))
