"""AudioVisualDataset: annotation formats, model inputs, bad samples."""
import json
import logging
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.logging import MMLogger

from cavmae_mm.datasets import AudioVisualDataset, BadSampleError
from tools.data.extraction import extract_clips
from tools.data.toy import make_toy_dataset

pytestmark = pytest.mark.usefixtures('mmaction_scope')

PREPROCESSOR = dict(
    type='MultiModalDataPreprocessor',
    preprocessors=dict(
        imgs=dict(
            type='ActionDataPreprocessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            format_shape='NCHW'),
        audio=dict(type='ActionDataPreprocessor', format_shape='NCHW')))


def pipeline(frames='random', mixup=0.0, smooth=0.0):
    steps = [
        dict(type='LoadAudioWaveform'),
        dict(type='SampleAVFrames', mode=frames),
        dict(type='LoadAVFrames'),
        dict(type='AVResize', scale=(-1, 224)),
        dict(type='CenterCrop', crop_size=224),
    ]
    if mixup:
        steps.append(dict(type='AVMixup', prob=mixup))
    steps += [
        dict(type='KaldiFbank', target_length=1024),
        dict(type='NormalizeFbank'),
    ]
    if smooth:
        steps.append(dict(type='LabelSmoothing', eps=smooth))
    steps += [
        dict(type='FormatShape', input_format='NCHW'),
        dict(
            type='PackActionInputs',
            collect_keys=('audio', 'imgs'),
            meta_keys=('video_id', 'frame_inds', 'mixup_lambda',
                       'mix_video_id')),
    ]
    return steps


@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    """3 classes x 2 clips of 2 s at 96 x 64, extracted too."""
    root = str(tmp_path_factory.mktemp('toy'))
    outputs = make_toy_dataset(
        root, num_classes=3, train_per_class=2, val_per_class=0,
        duration=2.0, width=96, height=64, fps=10)
    with open(outputs['pretrain']) as f:
        entries = json.load(f)['data']
    items = [dict(e, video=osp.join(root, e['video'])) for e in entries]
    extracted, failures = extract_clips(items, root, progress=False)
    assert not failures
    # The reference's format: absolute wav + frame folder, mids.
    reference = [{
        'video_id': e['video_id'],
        'wav': e['wav'],
        'video_path': e['video_path'],
        'labels': e['labels']
    } for e in extracted]
    reference[0]['labels'] = '/toy/c00,/toy/c02'  # one multi-label clip
    outputs['reference'] = osp.join(root, 'reference.json')
    with open(outputs['reference'], 'w') as f:
        json.dump(dict(data=reference), f)
    outputs['root'] = root
    return outputs


def build(ann_file, label_csv, **kwargs):
    kwargs.setdefault('pipeline', pipeline())
    return AudioVisualDataset(ann_file, label_csv=label_csv, **kwargs)


def test_reads_the_reference_format(toy):
    dataset = build(toy['reference'], toy['label_csv'], pipeline=[])
    assert len(dataset) == 6
    assert dataset.metainfo['classes'][0] == 'red circle + sine'
    assert dataset.metainfo['mids'][2] == '/toy/c02'
    info = dataset.get_data_info(0)
    assert info['label'].dtype == np.float32
    assert info['label'].tolist() == [1.0, 0.0, 1.0]
    assert info['label_ids'] == [0, 2] and info['num_classes'] == 3
    assert info['frame_dir'] == osp.join(toy['root'], 'frames')
    assert info['audio_path'].endswith('audio/toy_c00_000.wav')
    assert 'filename' not in info


def test_single_label_and_sources(toy):
    dataset = build(toy['finetune_train'], toy['label_csv'],
                    multi_label=False, pipeline=[])
    info = dataset.get_data_info(2)
    assert info['label'] == 1 and info['filename'] == osp.join(
        toy['root'], 'videos', 'toy_c01_000.mp4')
    with pytest.raises(ValueError, match='multi_label=False'):
        build(toy['reference'], toy['label_csv'], multi_label=False,
              pipeline=[])
    with pytest.raises(ValueError, match="no `wav`"):
        build(toy['finetune_train'], toy['label_csv'], source='extracted')
    with pytest.raises(ValueError, match='no `video`'):
        build(toy['reference'], toy['label_csv'], source='video')
    with pytest.raises(ValueError, match="unknown label '/m/nope'"):
        bad = osp.join(toy['root'], 'bad_label.json')
        with open(bad, 'w') as f:
            json.dump(dict(data=[dict(video='videos/x.mp4',
                                      labels='/m/nope')]), f)
        build(bad, toy['label_csv'])
    with pytest.raises(ValueError, match='label_csv'):
        AudioVisualDataset(toy['reference'], pipeline=[])


def test_video_list_file_and_relative_paths(toy, tmp_path):
    listing = tmp_path / 'list.txt'
    listing.write_text('# video labels\n'
                       'videos/toy_c02_001.mp4 /toy/c02\n'
                       'videos/toy_c00_000.mp4\t1\n'
                       'videos/toy_c01_000.mp4 /toy/c00 /toy/c01\n')
    dataset = build(str(listing), toy['label_csv'], data_root=toy['root'],
                    pipeline=[])
    assert [dataset.get_data_info(i)['label_ids']
            for i in range(3)] == [[2], [1], [0, 1]]
    assert dataset.get_data_info(0)['video_id'] == 'toy_c02_001'
    assert osp.isfile(dataset.get_data_info(0)['filename'])
    # Without data_root, relative paths are relative to the annotation.
    with pytest.raises(BadSampleError, match='file not found'):
        build(str(listing), toy['label_csv'], test_mode=True)[0]


@pytest.mark.parametrize('source', ['extracted', 'video'])
def test_model_inputs_and_data_preprocessor(toy, source):
    from mmaction.registry import MODELS
    dataset = build(toy['reference'], toy['label_csv'], source='extracted')
    if source == 'video':
        dataset = build(toy['finetune_train'], toy['label_csv'],
                        source='video')
    samples = [dataset[i] for i in range(3)]
    inputs = samples[0]['inputs']
    assert inputs['audio'].shape == (1024, 128)
    assert inputs['audio'].dtype == torch.float32
    assert inputs['imgs'].shape == (1, 3, 224, 224)
    assert inputs['imgs'].dtype == torch.uint8
    label = samples[1]['data_samples'].gt_labels.item
    assert label.dtype == torch.float32 and label.shape == (3, )
    batch = MODELS.build(PREPROCESSOR)(pseudo_collate(samples))
    imgs, audio = batch['inputs']['imgs'], batch['inputs']['audio']
    assert imgs.shape == (3, 1, 3, 224, 224) and imgs.dtype == torch.float32
    assert audio.shape == (3, 1024, 128)
    raw = samples[0]['inputs']['imgs'].float()
    mean = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
    torch.testing.assert_close(imgs[0, 0], (raw[0] - mean) / std)
    torch.testing.assert_close(audio[0], samples[0]['inputs']['audio'])


def test_single_label_index_and_multi_frame_eval(toy):
    dataset = build(toy['finetune_train'], toy['label_csv'],
                    multi_label=False, test_mode=True,
                    pipeline=pipeline(frames='all'))
    sample = dataset[3]
    assert sample['inputs']['imgs'].shape == (10, 3, 224, 224)
    label = sample['data_samples'].gt_labels.item
    assert label.dtype == torch.int64 and label.tolist() == [1]
    assert sample['data_samples'].frame_inds.tolist() == list(range(0, 20, 2))
    middle = build(toy['finetune_train'], toy['label_csv'], test_mode=True,
                   pipeline=pipeline(frames='middle'))[3]
    assert middle['data_samples'].frame_inds.tolist() == [10]


def test_extracted_and_raw_paths_agree(toy):
    extracted = build(toy['reference'], toy['label_csv'], test_mode=True,
                      pipeline=pipeline(frames='middle'))[1]
    raw = build(toy['finetune_train'], toy['label_csv'], test_mode=True,
                pipeline=pipeline(frames='middle'))[1]
    # The wav holds the 16-bit quantized waveform, the video path floats.
    audio_diff = (extracted['inputs']['audio'] - raw['inputs']['audio']).abs()
    assert audio_diff.mean() < 2e-3
    # The JPEG (quality 75) of the same, identically resized frame.
    img_diff = (extracted['inputs']['imgs'].float() -
                raw['inputs']['imgs'].float()).abs()
    assert img_diff.mean() < 3


def test_mixup_and_label_smoothing_through_the_dataset(toy):
    dataset = build(toy['reference'], toy['label_csv'],
                    pipeline=pipeline(mixup=1.0, smooth=0.1))
    ids = [dataset.get_data_info(i)['video_id'] for i in range(len(dataset))]
    for _ in range(3):
        sample = dataset[0]
        meta = sample['data_samples']
        mix_lambda = meta.mixup_lambda
        assert 0 < mix_lambda < 1
        assert sample['inputs']['imgs'].dtype == torch.float32
        first = dataset.get_data_info(0)['label']
        partner = dataset.get_data_info(ids.index(meta.mix_video_id))['label']
        expected = 0.1 / 3 + 0.9 * (mix_lambda * first +
                                    (1 - mix_lambda) * partner)
        label = meta.gt_labels.item
        assert label.dtype == torch.float32
        np.testing.assert_allclose(label.numpy(), expected, rtol=1e-6)


def break_file(path):
    with open(path, 'wb') as f:
        f.write(b'\x00' * 100)


@pytest.fixture
def broken_toy(toy, tmp_path):
    """The raw-video annotation with clip 2 corrupt and clip 4 missing."""
    entries = json.load(open(toy['finetune_train']))['data']
    for entry in entries:
        entry['video'] = osp.join(toy['root'], entry['video'])
    corrupt = str(tmp_path / 'corrupt.mp4')
    break_file(corrupt)
    entries[2]['video'] = corrupt
    entries[4]['video'] = str(tmp_path / 'missing.mp4')
    ann = tmp_path / 'broken.json'
    ann.write_text(json.dumps(dict(data=entries)))
    return str(ann), corrupt, str(tmp_path / 'missing.mp4')


def test_raise_policy_names_file_and_reason(broken_toy, toy):
    ann, corrupt, missing = broken_toy
    dataset = build(ann, toy['label_csv'], test_mode=True)
    assert dataset.on_error == 'raise'
    with pytest.raises(BadSampleError) as info:
        dataset[2]
    assert info.value.index == 2 and info.value.path == corrupt
    assert info.value.reason.startswith('cannot open media file')
    with pytest.raises(BadSampleError, match='file not found'):
        dataset[4]
    assert dataset.bad_sample_counter.total == 0


def test_raise_policy_in_a_dataloader_worker(broken_toy, toy):
    ann, corrupt, missing = broken_toy
    dataset = build(ann, toy['label_csv'], test_mode=True)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=1, num_workers=1, collate_fn=pseudo_collate,
        sampler=[4])
    with pytest.raises(BadSampleError) as info:
        next(iter(loader))
    assert missing in str(info.value) and 'file not found' in str(
        info.value)


def test_skip_policy_draws_another_sample_and_counts(broken_toy, toy, logged):
    ann, corrupt, missing = broken_toy
    dataset = build(ann, toy['label_csv'])
    assert dataset.on_error == 'skip'
    np.random.seed(0)
    for _ in range(3):
        sample = dataset[2]
        assert sample['data_samples'].video_id not in ('corrupt', )
        assert sample['inputs']['audio'].abs().sum() > 0
    warnings = [m for m in logged() if 'Skipping' in m]
    counter = dataset.bad_sample_counter
    failed = set(counter.entries())
    assert counter.total >= 3 and 2 in failed and failed <= {2, 4}
    assert len(warnings) == len(failed)  # once per file, not per failure
    assert corrupt in warnings[0]


def test_skip_policy_across_dataloader_workers(broken_toy, toy, tmp_path):
    """Workers survive the bad files; the main process sees their counts."""
    ann, corrupt, missing = broken_toy
    dataset = build(ann, toy['label_csv'], pipeline=pipeline()[:3] + [
        dict(type='KaldiFbank'),
        dict(type='FormatShape', input_format='NCHW'),
        dict(type='PackActionInputs', collect_keys=('audio', 'imgs'),
             meta_keys=('video_id', ))
    ])
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=2, num_workers=2, collate_fn=pseudo_collate,
        sampler=list(range(6)) * 2)
    # The forked workers inherit this handler: their warnings land here.
    log_file = tmp_path / 'workers.log'
    handler = logging.FileHandler(log_file)
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        video_ids = [
            sample.video_id for batch in loader
            for sample in batch['data_samples']
        ]
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert len(video_ids) == 12
    counter = dataset.bad_sample_counter
    # 2 bad indices x 2 passes, plus bad random replacements.
    assert counter.total >= 4
    assert sorted(set(counter.entries())) == [2, 4]
    assert dataset.sample_path(2) == corrupt
    # One warning per file over both worker processes.
    logged = log_file.read_text()
    assert logged.count('Skipping bad sample #2') == 1
    assert logged.count('Skipping bad sample #4') == 1


def test_gives_up_after_max_refetch(tmp_path, toy):
    ann = tmp_path / 'all_bad.json'
    ann.write_text(json.dumps(dict(data=[
        dict(video=str(tmp_path / f'{i}.mp4'), labels='/toy/c00')
        for i in range(3)
    ])))
    dataset = build(str(ann), toy['label_csv'], max_refetch=5)
    with pytest.raises(RuntimeError, match='6 consecutive samples failed'):
        dataset[0]
    assert dataset.bad_sample_counter.total == 6


def test_bad_mixup_partner_is_counted_under_its_own_index(toy, tmp_path):
    entries = json.load(open(toy['finetune_train']))['data'][:2]
    entries[1]['video'] = str(tmp_path / 'gone.mp4')
    ann = tmp_path / 'two.json'
    ann.write_text(json.dumps(dict(data=entries)))
    dataset = AudioVisualDataset(
        str(ann), label_csv=toy['label_csv'], data_root=toy['root'],
        pipeline=pipeline(mixup=1.0), test_mode=True)
    failures = set()
    for _ in range(20):
        try:
            dataset[0]
        except BadSampleError as err:
            failures.add((err.index, err.path))
    assert failures == {(1, str(tmp_path / 'gone.mp4'))}
    assert os.path.exists(dataset.sample_path(0))


def test_audioset_json_on_the_sample_clips(samples_dir, tmp_path):
    """The reference's AudioSet-style annotation (527 classes, mids,
    absolute paths) on the real sample clips, extracted by extract_clip."""
    from tools.data.extraction import extract_clip
    label_csv = str(samples_dir / 'class_labels_indices_as.csv')
    entries = []
    for name, labels in (('00W1lcxW-WU_40.000', '/m/09x0r,/m/04rlf'),
                         ('KlsG1EnBEjc_000361', '/m/015p6')):
        extract_clip(str(samples_dir / f'{name}.mp4'), str(tmp_path), name)
        entries.append(dict(video_id=name,
                            wav=str(tmp_path / 'audio' / f'{name}.wav'),
                            video_path=str(tmp_path / 'frames'),
                            labels=labels))
    ann = tmp_path / 'as_eval.json'
    ann.write_text(json.dumps(dict(data=entries)))
    dataset = AudioVisualDataset(
        str(ann), pipeline(frames='all'), label_csv=label_csv,
        test_mode=True)
    assert len(dataset.metainfo['classes']) == 527
    assert dataset.metainfo['classes'][0] == 'Speech'
    sample = dataset[0]
    label = sample['data_samples'].gt_labels.item
    assert label.shape == (527, ) and label.dtype == torch.float32
    assert torch.nonzero(label).flatten().tolist() == [0, 137]  # Speech, Music
    assert sample['inputs']['imgs'].shape == (10, 3, 224, 224)
    assert sample['inputs']['audio'].shape == (1024, 128)
    assert dataset[1]['data_samples'].frame_inds.tolist() == list(range(10))
    # One label per clip, read as single-label (VGGSound style).
    vgg = tmp_path / 'vgg_style.json'
    vgg.write_text(json.dumps(dict(data=entries[1:])))
    single = AudioVisualDataset(
        str(vgg), pipeline(frames='middle'), label_csv=label_csv,
        multi_label=False, test_mode=True)
    label = single[0]['data_samples'].gt_labels.item
    assert label.dtype == torch.int64 and label.tolist() == [111]  # Bird
