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
