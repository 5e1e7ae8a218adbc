# Retrieval and alignment of a toy pre-trained CAV-MAE Sync
# (cavmae_sync_toy_pretrain.py) on the sync toy's retrieval split: every
# clip at all 8 frame positions, each frame with its own audio segment;
# clip retrieval from the frame cosines aggregated by their max
# (AVRetrievalMetric(aggregate='max')), and within each clip the right
# segment for each frame and the right frame for each segment
# (AVFrameAlignmentMetric, chance 1 / 8):
#   python tools/test.py configs/cavmae_sync_toy_retrieval.py \
#       work_dirs/cavmae_sync_toy_pretrain/epoch_60.pth
_base_ = [
    './_base_/models/cavmae_tiny_pretrain.py',
    './_base_/datasets/toy_av_sync.py',
]

model = dict(
    backbone=dict(
        audio_length={{_base_.segment_length}},
        img_size={{_base_.img_size}},
        cls_token=True,
        num_register_tokens=4))

test_dataloader = {{_base_.retrieval_dataloader}}
test_evaluator = {{_base_.retrieval_evaluator}}
test_cfg = dict(type='TestLoop')
# The data set base's val_dataloader (middle position) is for training
# configs; a test-only runner must not get a half validation set-up.
val_dataloader = None
