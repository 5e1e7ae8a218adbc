# Visual-only fine-tuning on AudioSet-20K (reference: 20.0 mAP with the
# 10-frame ensemble): the AS-20K recipe with the visual branch only.
_base_ = ['./cavmae_finetune_audioset20k.py']

model = dict(mode='videoonly')
