"""tools/data/make_toy_av.py with --extract: the toy data set, extracted,
loads in the dataset from both sources."""
import json

from ..tool_utils import import_tool


def test_make_toy_av_with_extraction(tmp_path, mmaction_scope):
    tool = import_tool('data/make_toy_av.py')
    out = tmp_path / 'toy'
    assert tool.main(['--out-dir', str(out), '--num-classes', '2',
                      '--train-per-class', '2', '--val-per-class', '1',
                      '--duration', '1', '--width', '64', '--height', '48',
                      '--fps', '5', '--workers', '1', '--extract',
                      '--no-progress']) == 0
    entries = json.load(open(out / 'finetune_train.json'))['data']
    assert len(entries) == 4
    assert entries[0]['wav'] == 'audio/toy_c00_000.wav'
    assert entries[0]['video_path'] == 'frames'
    assert (out / 'frames/frame_9/toy_c01_002.jpg').exists()  # val clip
    from cavmae_mm.datasets import AudioVisualDataset
    for source in ('extracted', 'video'):
        dataset = AudioVisualDataset(
            str(out / 'finetune_val.json'),
            [dict(type='LoadAudioWaveform'),
             dict(type='SampleAVFrames', mode='middle'),
             dict(type='LoadAVFrames'),
             dict(type='AVResize'),
             dict(type='CenterCrop', crop_size=224)],
            label_csv=str(out / 'class_labels_indices.csv'), source=source,
            test_mode=True)
        assert dataset[1]['imgs'][0].shape == (224, 224, 3)


def test_make_toy_av_sync_variant(tmp_path, mmaction_scope):
    """--variant sync --extract: 8 frame positions per clip, and the
    config's sync pipelines (configs/_base_/datasets/toy_av_sync.py) load
    one audio segment per frame: [V, T, 128] with [V, 3, H, W]."""
    import numpy as np
    import torch
    from mmengine.config import Config

    from cavmae_mm.datasets import AudioVisualDataset
    tool = import_tool('data/make_toy_av.py')
    out = tmp_path / 'toy_sync'
    assert tool.main(['--out-dir', str(out), '--variant', 'sync',
                      '--num-classes', '3', '--train-per-class', '1',
                      '--val-per-class', '1', '--duration', '4', '--width',
                      '64', '--height', '48', '--workers', '1', '--extract',
                      '--no-progress']) == 0
    assert (out / 'frames/frame_7/toy_c02_001.jpg').exists()
    assert not (out / 'frames/frame_8').exists()
    assert json.load(open(out / 'toy_meta.json'))['variant'] == 'sync'
    cfg = Config.fromfile('configs/_base_/datasets/toy_av_sync.py')
    shapes = dict(sync_pretrain_pipeline=1, sync_eval_pipeline=1,
                  sync_retrieval_pipeline=8)
    for name, frames in shapes.items():
        dataset = AudioVisualDataset(
            str(out / 'finetune_val.json'), cfg[name],
            label_csv=str(out / 'class_labels_indices.csv'),
            source='extracted', test_mode=True)
        sample = dataset[0]
        audio, imgs = sample['inputs']['audio'], sample['inputs']['imgs']
        assert audio.shape == (frames, 96, 128) and audio.dtype == \
            torch.float32, name
        assert imgs.shape == (frames, 3, 112, 112), name
        positions = sample['data_samples'].metainfo['frame_positions']
        assert len(positions) == frames
        if name == 'sync_eval_pipeline':
            assert positions.tolist() == [4]
    # Retrieval: segment v is rows [50 v - 48, 50 v + 48) of the clip fbank
    # (clamped at the ends), normalized.
    assert positions.tolist() == list(range(8))
    raw = AudioVisualDataset(
        str(out / 'finetune_val.json'),
        [dict(type='LoadAudioWaveform'),
         dict(type='KaldiFbank', target_length=400),
         dict(type='NormalizeFbank')],
        label_csv=str(out / 'class_labels_indices.csv'),
        source='extracted', test_mode=True)[0]['audio']
    for v, start in enumerate([0, 2, 52, 102, 152, 202, 252, 302]):
        torch.testing.assert_close(audio[v], raw[start:start + 96], rtol=0,
                                   atol=0)
    assert np.isfinite(audio.numpy()).all()
    # The same pipeline from the raw videos: frames at 0.5 s steps (frame
    # 5 k of 10 fps), the audio segments as from the wav up to AAC.
    from_video = AudioVisualDataset(
        str(out / 'finetune_val.json'), cfg.sync_retrieval_pipeline,
        label_csv=str(out / 'class_labels_indices.csv'), source='video',
        test_mode=True)[0]
    assert from_video['inputs']['imgs'].shape == (8, 3, 112, 112)
    assert from_video['data_samples'].frame_inds.tolist() == list(
        range(0, 40, 5))
    video_audio = from_video['inputs']['audio']
    assert video_audio.shape == (8, 96, 128)
    assert (video_audio - audio).abs().mean() < 0.05
