# Audio-only fine-tuning on AudioSet-20K (reference: 37.7 mAP): the
# AS-20K recipe with the audio branch only.
_base_ = ['./cavmae_finetune_audioset20k.py']

model = dict(mode='audioonly')
test_dataloader = {{_base_.eval_dataloader}}  # frames are not used
