# Audio-only fine-tuning on VGGSound (reference: 59.8 % top-1).
_base_ = ['./cavmae_finetune_vggsound.py']

model = dict(mode='audioonly')
test_dataloader = {{_base_.eval_dataloader}}  # frames are not used
