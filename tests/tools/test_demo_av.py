"""tools/demo_av.py end to end on the real sample clips and the generated
toy data, with tiny random-weight checkpoints."""
import csv
import json
import os.path as osp

from .tool_utils import CLIPS, load_tool

demo_tool = load_tool('demo_av')


def test_demo_real_clips_with_audioset_names(samples_dir, ckpts, tmp_path,
                                             capsys):
    label_csv = samples_dir / 'class_labels_indices_as.csv'
    with open(label_csv, newline='') as f:
        names = [row['display_name'] for row in csv.DictReader(f)]
    for name in CLIPS:
        out_json = tmp_path / f'{name}.json'
        assert demo_tool.main([
            str(samples_dir / name), ckpts['tiny_ft_config'],
            ckpts['audioset'], '--labels', str(label_csv), '--topk', '5',
            '--out-json', str(out_json)
        ]) == 0
        printed = capsys.readouterr().out
        assert 'mode: multimodal' in printed and 'NOTE' not in printed
        result = json.loads(out_json.read_text())
        assert len(result['topk']) == 5
        for entry in result['topk']:
            assert entry['label'] == names[entry['index']]
            assert 0 <= entry['score'] <= 1
            assert entry['label'] in printed


def test_demo_video_without_audio_says_so(make_clip, ckpts, capsys):
    path = make_clip(name='no_audio.mp4', audio=False)
    assert demo_tool.main([path, ckpts['tiny_ft_config'], ckpts['audioset'],
                           '--topk', '3']) == 0
    printed = capsys.readouterr().out
    assert 'mode: missingvideoonly' in printed
    assert 'NOTE: no audio input' in printed
    assert demo_tool.main([path, ckpts['tiny_ft_config'], ckpts['audioset'],
                           '--no-fallback']) == 1
    assert 'no audio track' in capsys.readouterr().err


def test_demo_uses_checkpoint_class_names(toy, ckpts, capsys):
    video = osp.join(toy, 'videos', 'toy_c00_001.mp4')
    assert demo_tool.main([video, ckpts['toy_ft_config'], ckpts['toy_ft'],
                           '--topk', '2']) == 0
    printed = capsys.readouterr().out
    assert 'softmax scores' in printed
    assert printed.count('toy class ') == 2


def test_demo_clear_errors(samples_dir, ckpts, tmp_path, capsys):
    video = str(samples_dir / CLIPS[0])
    assert demo_tool.main([str(tmp_path / 'nope.mp4'), ckpts['tiny_ft_config'],
                           ckpts['audioset']]) == 1
    assert 'video file not found' in capsys.readouterr().err
    assert demo_tool.main([video, ckpts['tiny_ft_config'],
                           str(tmp_path / 'nope.pth')]) == 1
    assert 'checkpoint file not found' in capsys.readouterr().err
    # a pre-training checkpoint in a classification model: keys listed
    assert demo_tool.main([video, ckpts['tiny_ft_config'],
                           ckpts['pretrain']]) == 1
    err = capsys.readouterr().err
    assert 'missing keys' in err and 'cls_head.fc_cls.weight' in err
    assert 'unexpected keys' in err and 'neck.' in err
    # a pre-training model cannot classify
    assert demo_tool.main([video, ckpts['tiny_pt_config'],
                           ckpts['pretrain']]) == 1
    assert 'pre-training model' in capsys.readouterr().err
    # label file of the wrong size
    assert demo_tool.main([video, ckpts['toy_ft_config'], ckpts['toy_ft'],
                           '--labels',
                           str(samples_dir /
                               'class_labels_indices_as.csv')]) == 1
    assert '527 classes but the model predicts 3' in capsys.readouterr().err
