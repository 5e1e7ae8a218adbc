# Audio-only fine-tuning on AudioSet-2M (reference: 46.6 mAP).
_base_ = ['./cavmae_finetune_audioset2m.py']

model = dict(mode='audioonly')
test_dataloader = {{_base_.eval_dataloader}}  # frames are not used
