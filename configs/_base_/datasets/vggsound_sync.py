# VGGSound for CAV-MAE Sync: the paths, label CSV and data loaders of
# vggsound.py (change the paths there or with --cfg-options / --data-root)
# with the Sync pipelines (sync_pipelines.py). The frames must be extracted
# at 16 positions: frame_0 .. frame_15 (extract_av.py --num-positions 16).
_base_ = ['./vggsound.py', './sync_pipelines.py']

data_preparation = (
    'docs/data.md ("Preparing a data set"; CAV-MAE Sync needs 16 frame '
    'positions: extract_av.py --num-positions 16) says how to make it')

# Batch sizes are clips per process (vggsound.py's); a clip is 1 frame pair
# in pre-training and 16 in fine-tuning and retrieval.
sync_pretrain_dataloader = dict(
    _base_.pretrain_dataloader,
    dataset=dict(_base_.pretrain_dataloader.dataset,
                 pipeline=_base_.sync_pretrain_pipeline))
sync_finetune_dataloader = dict(
    _base_.finetune_dataloader,
    dataset=dict(_base_.finetune_dataloader.dataset,
                 pipeline=_base_.sync_finetune_pipeline))
sync_eval_dataloader = dict(
    _base_.eval_dataloader, batch_size=16,
    dataset=dict(_base_.eval_dataloader.dataset,
                 pipeline=_base_.sync_finetune_eval_pipeline))
sync_retrieval_dataloader = dict(
    _base_.retrieval_dataloader,
    dataset=dict(_base_.retrieval_dataloader.dataset,
                 pipeline=_base_.sync_retrieval_pipeline))
