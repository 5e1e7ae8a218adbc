# Audio<->visual retrieval on the toy retrieval split (5 clips per class)
# with a toy pre-trained CAV-MAE (step 3 of the toy demo):
#   python tools/test.py configs/cavmae_toy_retrieval.py \
#       work_dirs/cavmae_toy_pretrain/epoch_N.pth
_base_ = [
    './_base_/models/cavmae_tiny_pretrain.py',
    './_base_/datasets/toy_av.py',
]

model = dict(
    backbone=dict(
        audio_length={{_base_.target_length}},
        img_size={{_base_.img_size}}))

test_dataloader = {{_base_.retrieval_dataloader}}
test_evaluator = dict(type='AVRetrievalMetric')
test_cfg = dict(type='TestLoop')
