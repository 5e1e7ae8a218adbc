# The reference's data pipelines at full size (SPEC §2), shared by the
# AudioSet and VGGSound data sets: 1024 fbank frames (10.24 s at 16 kHz),
# 224 x 224 frames. Each data set file adds its paths and data loaders.
target_length = 1024
img_size = 224

pretrain_pipeline = [
    dict(type='LoadAudioWaveform'),
    dict(type='KaldiFbank', target_length=target_length),
    dict(type='NormalizeFbank'),
    dict(type='FbankNoise'),
    dict(type='SampleAVFrames', mode='random'),
    dict(type='LoadAVFrames'),
    dict(type='AVResize', scale=(-1, img_size)),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', collect_keys=('audio', 'imgs'),
         meta_keys=('video_id', ))
]
finetune_pipeline = [
    dict(type='LoadAudioWaveform'),
    dict(type='SampleAVFrames', mode='random'),
    dict(type='LoadAVFrames'),
    dict(type='AVResize', scale=(-1, img_size)),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='AVMixup', prob=0.5, alpha=10.0),
    dict(type='KaldiFbank', target_length=target_length),
    dict(type='SpecAugment', freqm=48, timem=192),
    dict(type='NormalizeFbank'),
    dict(type='FbankNoise'),
    dict(type='LabelSmoothing', eps=0.1),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', collect_keys=('audio', 'imgs'),
         meta_keys=('video_id', ))
]
# Evaluation on the middle frame (frame 5), or on all 10 frames with the
# scores averaged by the head (multi-frame ensemble, SPEC §1).
eval_pipeline = [
    dict(type='LoadAudioWaveform'),
    dict(type='KaldiFbank', target_length=target_length),
    dict(type='NormalizeFbank'),
    dict(type='SampleAVFrames', mode='middle'),
    dict(type='LoadAVFrames'),
    dict(type='AVResize', scale=(-1, img_size)),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', collect_keys=('audio', 'imgs'),
         meta_keys=('video_id', ))
]
eval_10frame_pipeline = [
    dict(t, mode='all') if t['type'] == 'SampleAVFrames' else t
    for t in eval_pipeline
]
