# The toy data set for CAV-MAE Sync: clips of 2-4 timed sound + picture
# events (tools/data/toy_sync.py), pre-extracted at 8 frame positions:
#   python tools/data/make_toy_av.py --out-dir data/toy_av_sync --variant \
#       sync --extract --train-per-class 64 --duration 4 --width 160 \
#       --height 120
# Each sampled frame position k of F gets its own audio segment of the
# clip's fbank (FrameAudioSegments, SPEC_SYNC "Data"): rows [start,
# start + T) around row round(k * L / F).
# Per sample: audio [V, T, 128] float32 and imgs [V, 3, 112, 112] uint8,
# V = 1 (pre-training: a random position; evaluation: the middle one) or
# V = F = 8 (retrieval: all positions, segment v with frame v).

# ---------------------------------------------------------------- paths --
data_root = 'data/toy_av_sync'
ann_file_pretrain = 'pretrain.json'
ann_file_train = 'finetune_train.json'
ann_file_val = 'finetune_val.json'
ann_file_retrieval = 'retrieval.json'
label_csv = 'class_labels_indices.csv'
# What tools/train.py and tools/test.py say when the data is not there.
data_preparation = (
    'make it with: python tools/data/make_toy_av.py --out-dir {data_root} '
    '--variant sync --extract --train-per-class 64 --duration 4 '
    '--width 160 --height 120')
# ------------------------------------------------------------------------
dataset_type = 'AudioVisualDataset'
num_positions = 8  # frame positions per clip, as extracted (0.5 s apart)
# The clip fbank: 400 rows cover the 4 s clips (398 rows + 2 of padding),
# so position k's centre row 50 k is the frame's time 0.5 k s.
target_length = 400
segment_length = 96  # rows per audio segment (0.96 s; the model's T)
img_size = 112

_audio = [
    dict(type='LoadAudioWaveform'),
    dict(type='KaldiFbank', target_length=target_length),
    dict(type='FrameAudioSegments', segment_length=segment_length),
    dict(type='NormalizeFbank'),  # after the cut, as the released loader
]
_frames = [
    dict(type='LoadAVFrames'),
    dict(type='AVResize', scale=(-1, img_size)),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='FormatShape', input_format='NCHW'),
]
_pack = dict(type='PackActionInputs', collect_keys=('audio', 'imgs'),
             meta_keys=('video_id', 'frame_positions', 'frame_inds'))


_sample = dict(type='SampleAVFrames', num_positions=num_positions)
# Pre-training: one random position per clip (num_frames=n for n of them).
sync_pretrain_pipeline = [dict(_sample, mode='random'), *_audio, *_frames,
                          _pack]
# Evaluation: the middle position (k = F // 2 = 4).
sync_eval_pipeline = [dict(_sample, mode='middle'), *_audio, *_frames, _pack]
# Retrieval and frame alignment: all F positions.
sync_retrieval_pipeline = [dict(_sample, mode='all'), *_audio, *_frames,
                           _pack]

# CAV-MAE on the same clips (the toy comparison, tools/run_toy_sync_demo.py):
# the whole clip fbank [L, 128] as its one spectrogram, no segments; one
# random position's frame in pre-training, all F frames for its clip-level
# retrieval (views of the clip, their features averaged). No FbankNoise, as
# in the sync pipelines: the two models differ only in the audio they see.
_clip_audio = [
    dict(type='LoadAudioWaveform'),
    dict(type='KaldiFbank', target_length=target_length),
    dict(type='NormalizeFbank'),
]
clip_pretrain_pipeline = [dict(_sample, mode='random'), *_clip_audio,
                          *_frames, _pack]
clip_retrieval_pipeline = [dict(_sample, mode='all'), *_clip_audio,
                           *_frames, _pack]

# Toy clips carry one label each: single-label classification (accuracy).
_dataset = dict(type=dataset_type, data_root=data_root, label_csv=label_csv,
                multi_label=False, source='extracted')
_train = dict(num_workers=2, persistent_workers=True,
              sampler=dict(type='DefaultSampler', shuffle=True))
_eval = dict(_train, sampler=dict(type='DefaultSampler', shuffle=False))
pretrain_dataloader = dict(
    _train, batch_size=8,
    dataset=dict(_dataset, ann_file=ann_file_pretrain,
                 pipeline=sync_pretrain_pipeline))
val_dataloader = dict(
    _eval, batch_size=16,
    dataset=dict(_dataset, ann_file=ann_file_val, test_mode=True,
                 pipeline=sync_eval_pipeline))
retrieval_dataloader = dict(
    _eval, batch_size=4,
    dataset=dict(_dataset, ann_file=ann_file_retrieval, test_mode=True,
                 pipeline=sync_retrieval_pipeline))
clip_pretrain_dataloader = dict(
    pretrain_dataloader,
    dataset=dict(pretrain_dataloader['dataset'],
                 pipeline=clip_pretrain_pipeline))
clip_retrieval_dataloader = dict(
    retrieval_dataloader,
    dataset=dict(retrieval_dataloader['dataset'],
                 pipeline=clip_retrieval_pipeline))
# Per-frame features [F, D]: clip retrieval by aggregated frame cosines and
# the within-clip segment <-> frame alignment (chance 1 / F).
retrieval_evaluator = [
    dict(type='AVRetrievalMetric', aggregate='max'),
    dict(type='AVFrameAlignmentMetric'),
]
