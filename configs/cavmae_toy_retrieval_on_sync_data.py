# CAV-MAE's frame-level alignment on the sync toy, measured as CAV-MAE
# Sync's (cavmae_sync_toy_retrieval.py: all 8 frame positions, frame f with
# its 0.96 s audio segment f, max-aggregated clip retrieval + alignment):
# a checkpoint of cavmae_toy_pretrain_on_sync_data.py (audio_length 400,
# the whole clip) runs its audio encoder on each 96-row segment. The audio
# position embedding is the fixed sin-cos table: loading the 400-row
# checkpoint into this 96-row model keeps its first 6 time columns
# (CAVMAEViT adapts it on load), exactly the table a 96-row model builds;
# every weight is the checkpoint's. CAV-MAE never saw a segment in
# training: this measures what its encoders know about moments, not a
# retrained model.
#   python tools/test.py configs/cavmae_toy_retrieval_on_sync_data.py \
#       work_dirs/cavmae_toy_pretrain_on_sync_data/epoch_60.pth
_base_ = [
    './_base_/models/cavmae_tiny_pretrain.py',
    './_base_/datasets/toy_av_sync.py',
]

model = dict(
    backbone=dict(
        audio_length={{_base_.segment_length}},
        img_size={{_base_.img_size}}))

test_dataloader = {{_base_.retrieval_dataloader}}
test_evaluator = {{_base_.retrieval_evaluator}}
test_cfg = dict(type='TestLoop')
# The data set base's val_dataloader (middle position) is for training
# configs; a test-only runner must not get a half validation set-up.
val_dataloader = None
