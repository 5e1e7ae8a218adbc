# Audio->visual and visual->audio retrieval on the VGGSound test subset of
# 5 clips per class (SPEC §7) with a pre-trained CAV-MAE:
#   python tools/test.py configs/cavmae_retrieval_vggsound.py <checkpoint>
_base_ = [
    './_base_/models/cavmae_vit_base_pretrain.py',
    './_base_/datasets/vggsound.py',
]

test_dataloader = {{_base_.retrieval_dataloader}}
test_evaluator = dict(type='AVRetrievalMetric')
test_cfg = dict(type='TestLoop')
