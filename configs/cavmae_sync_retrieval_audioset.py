# Audio->visual and visual->audio retrieval on the AudioSet evaluation subset
# of 5 clips per class (SPEC §7) with a CAV-MAE Sync model: all 16 frame
# positions of each clip with their audio segments; per frame the
# L2-normalized cls tokens; the clip-to-clip score aggregates the 16 x 16
# frame cosines c(k, l) of segment k and frame l. Default 'diagonal_mean' (the
# mean of c(k, k)): the released README's retrieval command; it compares each
# segment with its own frame, as the model was trained. Others: --cfg-options
# test_evaluator.0.aggregate=max (or mean, diagonal_max).
#   python tools/convert_official_ckpt.py cav_mae_sync.pth sync.pth \
#       --config configs/cavmae_sync_retrieval_audioset.py
#   python tools/test.py configs/cavmae_sync_retrieval_audioset.py sync.pth
_base_ = [
    './_base_/models/cavmae_sync_vit_base_pretrain.py',
    './_base_/datasets/audioset_sync.py',
]

test_dataloader = {{_base_.sync_retrieval_dataloader}}
test_evaluator = {{_base_.sync_retrieval_evaluator}}
test_cfg = dict(type='TestLoop')
