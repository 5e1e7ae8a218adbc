# The tiny CAV-MAE of cavmae_toy_pretrain.py pre-trained on the sync toy
# data (_base_/datasets/toy_av_sync.py), the CAV-MAE side of the toy
# comparison with CAV-MAE Sync (tools/run_toy_sync_demo.py): the same clips,
# recipe and budget as cavmae_sync_toy_pretrain.py, but CAV-MAE's input:
# the whole 4 s clip fbank (400 rows) with one random frame of the clip, no
# cls or register tokens, the contrastive loss on the patch-token means.
# Validation / test: clip retrieval with the clip's audio against its 8
# frames (their features averaged). Its frame-level alignment is measured
# with cavmae_toy_retrieval_on_sync_data.py.
_base_ = [
    './_base_/models/cavmae_tiny_pretrain.py',
    './_base_/datasets/toy_av_sync.py',
    './_base_/schedules/cavmae_toy_pretrain_60e.py',
]

model = dict(
    backbone=dict(
        audio_length={{_base_.target_length}},
        img_size={{_base_.img_size}},
        mask_ratio_a=0.5,
        mask_ratio_v=0.5),
    head=dict(loss_contrastive=dict(loss_weight=1.0)))

train_dataloader = {{_base_.clip_pretrain_dataloader}}
val_dataloader = {{_base_.clip_retrieval_dataloader}}
test_dataloader = {{_base_.clip_retrieval_dataloader}}
val_evaluator = dict(type='AVRetrievalMetric')
test_evaluator = dict(type='AVRetrievalMetric')

default_hooks = dict(
    logger=dict(interval=32),
    checkpoint=dict(interval=10, max_keep_ckpts=1, save_best=None))
log_processor = dict(window_size=32)
