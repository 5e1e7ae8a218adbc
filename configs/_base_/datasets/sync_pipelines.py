# CAV-MAE Sync's data pipelines at full size (SPEC_SYNC "Data"; the released
# loader src/dataloader_sync.py), shared by the AudioSet and VGGSound Sync
# data set files (audioset_sync.py, vggsound_sync.py). Each clip has 16
# frame positions (frame_0 .. frame_15: extract_av.py --num-positions 16);
# position k gets rows [start, start + 416) of the clip's 1024-row fbank
# (FrameAudioSegments), normalized (x + 5.081) / 4.4849 after the cut.
# Per sample: audio [V, 416, 128] float32, imgs [V, 3, 224, 224], segment v
# with frame v.
# (Names apart from av_pipelines.py's, which the data set files also use.)
num_positions = 16  # the released model's total_frame
clip_length = 1024  # rows of the clip fbank (10.24 s), padded / cut
segment_length = 416  # rows per segment (4.16 s): the model's audio_length
frame_size = 224

_sample = dict(type='SampleAVFrames', num_positions=num_positions)
_audio = [
    dict(type='LoadAudioWaveform'),
    dict(type='KaldiFbank', target_length=clip_length),
    dict(type='FrameAudioSegments', segment_length=segment_length),
    dict(type='NormalizeFbank'),  # after the cut, as the released loader
]
_frames = [
    dict(type='LoadAVFrames'),
    dict(type='AVResize', scale=(-1, frame_size)),
    dict(type='CenterCrop', crop_size=frame_size),
]
_format = dict(type='FormatShape', input_format='NCHW')
_pack = dict(type='PackActionInputs', collect_keys=('audio', 'imgs'),
             meta_keys=('video_id', 'frame_positions', 'frame_inds'))

# Pre-training: one random position per clip, V = 1 (the released loader's
# 'train' mode). No noise: the released code reads the option but never
# applies it.
sync_pretrain_pipeline = [dict(_sample, mode='random'), *_audio, *_frames,
                          _format, _pack]
# Evaluation of a pre-trained model: the middle position k = 8, V = 1.
sync_eval_pipeline = [dict(_sample, mode='middle'), *_audio, *_frames,
                      _format, _pack]
# Retrieval: all 16 positions, V = 16, clip-major.
sync_retrieval_pipeline = [dict(_sample, mode='all'), *_audio, *_frames,
                           _format, _pack]
# Its evaluation, per-frame features [16, D]: clip score = mean over k of
# the cosine of segment k and frame k (the released README's --strategy
# diagonal_mean; others: --cfg-options test_evaluator.0.aggregate=max, mean
# or diagonal_max), and the within-clip segment <-> frame alignment
# (chance 1/16).
sync_retrieval_evaluator = [
    dict(type='AVRetrievalMetric', aggregate='diagonal_mean'),
    dict(type='AVFrameAlignmentMetric'),
]

# Fine-tuning: all 16 positions in training and evaluation (the released
# CAVMAEFT views a batch as [B / total_frame, total_frame] frames for its
# 'self_attention_cls' aggregation). The released code has no fine-tuning
# recipe; the augmentations are CAV-MAE's (SPEC §6) where they keep segment
# k with frame k: waveform mixup 0.5 (the same partner clip for all 16
# frames), SpecAugment 48/192 on the clip fbank before the cut, label
# smoothing 0.1. CAV-MAE's noise is left out: its random roll of the fbank
# by up to the clip's length would move the segments off their frames.
sync_finetune_pipeline = [
    dict(_sample, mode='all'),
    dict(type='LoadAudioWaveform'),
    *_frames,
    dict(type='AVMixup', prob=0.5, alpha=10.0),  # before KaldiFbank
    dict(type='KaldiFbank', target_length=clip_length),
    dict(type='SpecAugment', freqm=48, timem=192),
    dict(type='FrameAudioSegments', segment_length=segment_length),
    dict(type='NormalizeFbank'),
    dict(type='LabelSmoothing', eps=0.1),
    _format,
    _pack,
]
sync_finetune_eval_pipeline = sync_retrieval_pipeline
