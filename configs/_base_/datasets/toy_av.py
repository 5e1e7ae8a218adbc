# The generated toy data set, as tools/run_toy_demo.py makes it:
#   python tools/data/make_toy_av.py --out-dir data/toy_av --extract \
#       --train-per-class 64 --duration 4 --width 160 --height 120
# 8 classes, 64 training + 6 validation clips per class, 5 of the validation
# clips per class for retrieval; read from the reference layout (16 kHz wav
# + 10 JPEG frames per clip) that --extract writes. The real pipeline at
# toy sizes: 4 s clips (384 fbank frames) and 112 x 112 frames.
_base_ = ['./av_pipelines.py']

# ---------------------------------------------------------------- paths --
data_root = 'data/toy_av'
ann_file_pretrain = 'pretrain.json'
ann_file_train = 'finetune_train.json'
ann_file_val = 'finetune_val.json'
ann_file_retrieval = 'retrieval.json'
label_csv = 'class_labels_indices.csv'
# What tools/train.py and tools/test.py say when the data is not there.
data_preparation = (
    'make it with: python tools/data/make_toy_av.py --out-dir {data_root} '
    '--extract --train-per-class 64 --duration 4 --width 160 --height 120')
# ------------------------------------------------------------------------
dataset_type = 'AudioVisualDataset'
target_length = 384  # fbank frames (3.84 s of the 4 s clips)
img_size = 112

# The full-size pipelines of av_pipelines.py with the toy sizes.
_toy_sizes = dict(
    KaldiFbank=dict(target_length=target_length),
    AVResize=dict(scale=(-1, img_size)),
    CenterCrop=dict(crop_size=img_size))
pretrain_pipeline = [
    dict(t, **_toy_sizes.get(t['type'], {}))
    for t in _base_.pretrain_pipeline
]
finetune_pipeline = [
    dict(t, **_toy_sizes.get(t['type'], {}))
    for t in _base_.finetune_pipeline
]
eval_pipeline = [
    dict(t, **_toy_sizes.get(t['type'], {})) for t in _base_.eval_pipeline
]
eval_10frame_pipeline = [
    dict(t, **_toy_sizes.get(t['type'], {}))
    for t in _base_.eval_10frame_pipeline
]

# Toy clips carry one label each: single-label classification (accuracy).
_dataset = dict(type=dataset_type, data_root=data_root, label_csv=label_csv,
                multi_label=False, source='extracted')
_train = dict(num_workers=2, persistent_workers=True,
              sampler=dict(type='DefaultSampler', shuffle=True))
_eval = dict(_train, sampler=dict(type='DefaultSampler', shuffle=False))
pretrain_dataloader = dict(
    _train, batch_size=8,
    dataset=dict(_dataset, ann_file=ann_file_pretrain,
                 pipeline=pretrain_pipeline))
finetune_train_dataloader = dict(
    _train, batch_size=16,
    dataset=dict(_dataset, ann_file=ann_file_train,
                 pipeline=finetune_pipeline))
finetune_val_dataloader = dict(
    _eval, batch_size=16,
    dataset=dict(_dataset, ann_file=ann_file_val, test_mode=True,
                 pipeline=eval_pipeline))
finetune_val_10frame_dataloader = dict(
    _eval, batch_size=8,
    dataset=dict(_dataset, ann_file=ann_file_val, test_mode=True,
                 pipeline=eval_10frame_pipeline))
retrieval_dataloader = dict(
    _eval, batch_size=20,
    dataset=dict(_dataset, ann_file=ann_file_retrieval, test_mode=True,
                 pipeline=eval_pipeline))
