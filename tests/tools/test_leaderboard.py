"""End to end: tools/demo_av.py, extract_features.py,
visualize_reconstruction.py and leaderboard.py on the generated toy data
and the real sample clips, with tiny random-weight checkpoints."""
import csv
import importlib.util
import json
import logging
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image

import cavmae_mm  # noqa: F401
from mmaction.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_FINETUNE = osp.join(ROOT, 'configs/_base_/models/cavmae_tiny_finetune.py')
TINY_PRETRAIN = osp.join(ROOT, 'configs/_base_/models/cavmae_tiny_pretrain.py')
TOY_PRETRAIN = osp.join(ROOT, 'configs/cavmae_toy_pretrain.py')
TOY_DATA = osp.join(ROOT, 'configs/_base_/datasets/toy_av.py')
AV_PIPELINES = osp.join(ROOT, 'configs/_base_/datasets/av_pipelines.py')
CLIPS = ('00W1lcxW-WU_40.000.mp4', 'KlsG1EnBEjc_000361.mp4')
NUM_TOY_CLASSES = 3
EMBED_DIMS = 64  # the tiny models


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        name.replace('/', '_'), osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


demo_tool = load_tool('demo_av')
features_tool = load_tool('extract_features')
recon_tool = load_tool('visualize_reconstruction')
board_tool = load_tool('leaderboard')


def save_random_checkpoint(config, path, seed=0, **meta):
    init_default_scope('mmaction')
    torch.manual_seed(seed)
    model = MODELS.build(Config.fromfile(config).model)
    torch.save(dict(state_dict=model.state_dict(), meta=meta), str(path))
    return str(path)


# ------------------------------------------------------------- fixtures --
@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    """The data engineer's toy generator at a tiny size: 3 classes x (1
    train + 2 val) clips of 2 s at 64 x 48, pre-extracted too."""
    root = str(tmp_path_factory.mktemp('toy_av'))
    make_toy = load_tool('data/make_toy_av')
    make_toy.main([
        '--out-dir', root, '--num-classes', str(NUM_TOY_CLASSES),
        '--train-per-class', '1', '--val-per-class', '2',
        '--retrieval-per-class', '2', '--duration', '2', '--width', '64',
        '--height', '48', '--fps', '5', '--workers', '1', '--extract',
        '--no-progress'
    ])
    return root


@pytest.fixture(scope='module')
def ckpts(tmp_path_factory):
    """Tiny checkpoints: pre-training, an AudioSet-sized (527-class)
    recognizer, and configs + a recognizer for the toy classes. The tiny
    models' configs get the full-size evaluation pipeline as their test
    pipeline, which the tools build their inputs from."""
    out = tmp_path_factory.mktemp('ckpts')
    tiny_configs = {}
    for name, model_config in (('tiny_ft_config', TINY_FINETUNE),
                               ('tiny_pt_config', TINY_PRETRAIN)):
        path = out / f'{name}.py'
        path.write_text(f'_base_ = [{model_config!r}, {AV_PIPELINES!r}]\n'
                        'test_pipeline = {{_base_.eval_pipeline}}\n')
        tiny_configs[name] = str(path)
    toy_ft_config = out / 'toy_finetune.py'
    toy_ft_config.write_text(
        f'_base_ = [{TINY_FINETUNE!r}, {TOY_DATA!r}]\n'
        'model = dict(backbone=dict(audio_length={{_base_.target_length}}, '
        'img_size={{_base_.img_size}}), '
        f'cls_head=dict(num_classes={NUM_TOY_CLASSES}, '
        "multi_class=False, loss_cls=dict(type='CrossEntropyLoss'), "
        "average_clips='prob'))\n"
        'test_dataloader = {{_base_.finetune_val_dataloader}}\n'
        "test_evaluator = dict(type='AccMetric')\n"
        "test_cfg = dict(type='TestLoop')\n")
    toy_pt_config = out / 'toy_pretrain.py'
    toy_pt_config.write_text(f'_base_ = [{TOY_PRETRAIN!r}]\n')
    return dict(
        **tiny_configs,
        pretrain=save_random_checkpoint(TINY_PRETRAIN, out / 'pt.pth'),
        audioset=save_random_checkpoint(TINY_FINETUNE, out / 'as.pth'),
        toy_ft_config=str(toy_ft_config),
        toy_pt_config=str(toy_pt_config),
        # sized like the toy configs (their frames are smaller)
        toy_pt=save_random_checkpoint(str(toy_pt_config), out / 'toy_pt.pth'),
        toy_ft=save_random_checkpoint(
            str(toy_ft_config), out / 'toy_ft.pth', seed=1,
            dataset_meta=dict(classes=[f'toy class {i}'
                                       for i in range(NUM_TOY_CLASSES)])),
        toy_ft_b=save_random_checkpoint(str(toy_ft_config),
                                        out / 'toy_ft_b.pth', seed=2))


def data_options(toy):
    """--cfg-options pointing the toy configs at the generated data."""
    return [
        f'test_dataloader.dataset.data_root={toy}',
        f'retrieval_dataloader.dataset.data_root={toy}',
        'test_dataloader.num_workers=0', 'retrieval_dataloader.num_workers=0'
    ]


# ----------------------------------------------------------------- demo --
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


# ------------------------------------------------------------- features --
def test_extract_features_npz_and_npy(toy, ckpts, tmp_path, capsys):
    ann = osp.join(toy, 'retrieval.json')
    with open(ann) as f:
        ids = [entry['video_id'] for entry in json.load(f)['data']]
    out = tmp_path / 'feats.npz'
    assert features_tool.main([
        ckpts['tiny_pt_config'], ckpts['pretrain'], ann, '--out', str(out),
        '--batch-size', '4', '--num-workers', '1', '--no-progress'
    ]) == 0
    with np.load(out) as feats:
        assert feats['ids'].tolist() == ids
        for name in ('audio', 'visual'):
            assert feats[name].shape == (len(ids), EMBED_DIMS)
            np.testing.assert_allclose(
                np.linalg.norm(feats[name], axis=1), 1, atol=1e-5)
        assert feats['failed_ids'].size == 0
    # raw videos instead of the extracted files, tokens, .npy folder
    out_dir = tmp_path / 'feats'
    assert features_tool.main([
        ckpts['toy_ft_config'], ckpts['toy_ft'], ann, '--out', str(out_dir),
        '--source', 'video', '--with-tokens', '--batch-size', '3',
        '--num-workers', '0', '--no-progress'
    ]) == 0
    assert (out_dir / 'ids.txt').read_text().split() == ids
    n = len(ids)
    shapes = dict(audio=(n, EMBED_DIMS), visual=(n, EMBED_DIMS),
                  # the toy configs' sizes: 8 x 24 audio, 7 x 7 visual
                  audio_tokens=(n, 8 * 24, EMBED_DIMS),
                  visual_tokens=(n, 1, 7 * 7, EMBED_DIMS))
    for name, shape in shapes.items():
        array = np.load(out_dir / f'{name}.npy')
        assert array.shape == shape and np.isfinite(array).all()
    meta = json.loads((out_dir / 'meta.json').read_text())
    assert meta['failed'] == {}
    assert 'shapes' in capsys.readouterr().out


def test_extract_features_bad_items(toy, ckpts, tmp_path, capsys):
    entries = [dict(video_id='ok', video=osp.join(toy, 'videos',
                                                  'toy_c01_001.mp4')),
               dict(video_id='gone', video=str(tmp_path / 'gone.mp4'))]
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(dict(data=entries)))
    args = [ckpts['tiny_pt_config'], ckpts['pretrain'], str(ann),
            '--num-workers', '0', '--no-progress']
    assert features_tool.main(args + ['--out', str(tmp_path / 'a.npz')]) == 1
    err = capsys.readouterr().err
    assert 'item 1 (gone)' in err and 'video file not found' in err
    assert '--skip-bad' in err
    assert features_tool.main(args + ['--out', str(tmp_path / 'b.npz'),
                                      '--skip-bad']) == 0
    with np.load(tmp_path / 'b.npz') as feats:
        assert feats['failed_ids'].tolist() == ['gone']
        assert np.isfinite(feats['audio'][0]).all()
        assert np.isnan(feats['audio'][1]).all()
    assert features_tool.main([ckpts['tiny_pt_config'], ckpts['pretrain'],
                               str(tmp_path / 'none.json'), '--out',
                               str(tmp_path / 'c.npz')]) == 1
    assert 'annotation file not found' in capsys.readouterr().err


# ------------------------------------------------------- reconstruction --
def test_visualize_reconstruction_pngs(samples_dir, toy, ckpts, tmp_path,
                                       capsys):
    out_dir = tmp_path / 'recon'
    assert recon_tool.main([
        ckpts['tiny_pt_config'], ckpts['pretrain'],
        str(samples_dir / CLIPS[0]),
        '--pair', osp.join(toy, 'audio', 'toy_c00_001.wav'),
        osp.join(toy, 'frames', 'frame_5', 'toy_c00_001.jpg'),
        '--ann-file', osp.join(toy, 'retrieval.json'), '--max-clips', '1',
        '--out-dir', str(out_dir), '--dpi', '40'
    ]) == 0
    printed = capsys.readouterr().out
    assert 'norm_pix' in printed  # the base config trains with norm_pix
    pngs = sorted(os.listdir(out_dir))
    # the pair and the first annotation item are the same clip: 2 files
    assert pngs == ['00W1lcxW-WU_40.000.png', 'toy_c00_001.png',
                    'toy_c00_001_.png']
    for name in pngs:
        with Image.open(out_dir / name) as image:
            image.load()
            assert image.format == 'PNG'
            assert image.size == (16 * 40, 6 * 40)
            pixels = np.asarray(image.convert('RGB'))
            assert pixels.std() > 10  # not blank


def test_visualize_reconstruction_errors(samples_dir, ckpts, make_clip,
                                         tmp_path, capsys):
    video = str(samples_dir / CLIPS[0])
    args = ['--out-dir', str(tmp_path)]
    assert recon_tool.main([ckpts['tiny_ft_config'], ckpts['audioset'],
                            video] + args) == 1
    assert 'no decoder' in capsys.readouterr().err
    mute = make_clip(name='mute.mp4', audio=False)
    assert recon_tool.main([ckpts['tiny_pt_config'], ckpts['pretrain'],
                            mute] + args) == 1
    assert 'no audio track' in capsys.readouterr().err
    assert recon_tool.main([ckpts['tiny_pt_config'], ckpts['pretrain']] +
                           args) == 1
    assert 'nothing to show' in capsys.readouterr().err


# ---------------------------------------------------------- leaderboard --
def test_leaderboard_table_and_cache(toy, ckpts, tmp_path, capsys):
    out_dir = tmp_path / 'board'
    common = ['--tasks', 'cls', 'cls:audioonly', 'retrieval', '--out-dir',
              str(out_dir), '--cfg-options'] + data_options(toy)
    models = ['--model', ckpts['toy_pt_config'], ckpts['toy_pt'],
              'pretrained', '--model', ckpts['toy_ft_config'],
              ckpts['toy_ft'], 'finetuned']
    assert board_tool.main(models + common) == 0
    printed = capsys.readouterr().out
    assert 'evaluated 6, from cache 0' in printed
    board = json.loads((out_dir / 'leaderboard.json').read_text())
    markdown = (out_dir / 'leaderboard.md').read_text()
    assert markdown.splitlines()[0] in printed
    headers = [column['header'] for column in board['columns']]
    assert headers == [
        'cls top1', 'cls:audioonly top1', 'retrieval a2v_R@1',
        'retrieval a2v_R@5', 'retrieval a2v_R@10', 'retrieval v2a_R@1',
        'retrieval v2a_R@5', 'retrieval v2a_R@10'
    ]
    assert markdown.splitlines()[0] == '| model | ' + ' | '.join(
        headers) + ' |'
    rows = {row['model']: row['results'] for row in board['rows']}
    assert rows['pretrained']['cls']['status'] == 'n/a'
    assert 'pre-training model' in rows['pretrained']['cls']['reason']
    for name in ('pretrained', 'finetuned'):
        metrics = rows[name]['retrieval']['metrics']
        for key in ('a2v_R@1', 'a2v_R@10', 'v2a_R@5', 'v2a_MdR'):
            assert f'retrieval/{key}' in metrics
        # 6 retrieval clips: every clip is within the top 10
        assert metrics['retrieval/a2v_R@10'] == 1.0
        assert 1 <= metrics['retrieval/a2v_MdR'] <= 6
        for key, value in metrics.items():
            if not key.endswith('MdR'):
                assert 0 <= value <= 1
    accuracy = rows['finetuned']['cls']['metrics']['acc/top1']
    assert 0 <= accuracy <= 1
    assert f'| finetuned | {100 * accuracy:.1f} |' in markdown
    assert '| pretrained | n/a | n/a |' in markdown

    # everything cached: nothing is evaluated again
    assert board_tool.main(models + common) == 0
    assert 'evaluated 0, from cache 6' in capsys.readouterr().out
    # a new model: only it is evaluated (the retrieval column alone, to
    # keep the test short)
    retrieval = common[:]
    retrieval[1:4] = ['retrieval']
    more = models + ['--model', ckpts['toy_ft_config'], ckpts['toy_ft_b'],
                     'finetuned-b']
    assert board_tool.main(more + retrieval) == 0
    assert 'evaluated 1, from cache 2' in capsys.readouterr().out
    board = json.loads((out_dir / 'leaderboard.json').read_text())
    assert [row['model'] for row in board['rows']] == [
        'pretrained', 'finetuned', 'finetuned-b'
    ]
    assert [column['header'] for column in board['columns']
            ] == headers[2:]
    # a rewritten checkpoint is evaluated again
    stat = os.stat(ckpts['toy_ft_b'])
    os.utime(ckpts['toy_ft_b'], ns=(stat.st_atime_ns,
                                    stat.st_mtime_ns + 10**9))
    assert board_tool.main(more + retrieval) == 0
    assert 'evaluated 1, from cache 2' in capsys.readouterr().out


def test_leaderboard_clear_errors(toy, ckpts, tmp_path, capsys):
    common = ['--out-dir', str(tmp_path / 'b'), '--cfg-options'
              ] + data_options(toy)
    assert board_tool.main(['--model', ckpts['toy_ft_config'],
                            str(tmp_path / 'nope.pth')] + common) == 1
    assert 'checkpoint not found' in capsys.readouterr().err
    assert board_tool.main(['--model', ckpts['toy_ft_config'],
                            ckpts['pretrain'], '--tasks', 'retrieval'] +
                           common) == 1
    err = capsys.readouterr().err
    assert 'missing keys' in err and 'unexpected keys' in err
    assert board_tool.main(['--model', ckpts['toy_ft_config'],
                            ckpts['toy_ft'], '--tasks', 'cls:bogus'] +
                           common) == 1
    assert 'unknown task' in capsys.readouterr().err


def test_leaderboard_non_strict(toy, ckpts, tmp_path, capsys):
    """A pre-training checkpoint under the fine-tuning config is refused
    with the hint; --non-strict evaluates it, warns with the key lists, and
    caches the result apart from strict runs."""
    from mmengine.logging import MMLogger
    model = ['--model', ckpts['toy_ft_config'], ckpts['toy_pt'], 'pt_in_ft',
             '--tasks', 'cls', '--out-dir', str(tmp_path / 'board')]
    options = ['--cfg-options'] + data_options(toy)
    assert board_tool.main(model + options) == 1
    err = capsys.readouterr().err
    assert 'missing keys' in err and 'unexpected keys' in err
    assert 'pass --non-strict' in err

    warnings = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        assert board_tool.main(model + ['--non-strict'] + options) == 0
    finally:
        logger.removeHandler(handler)
    assert 'evaluated 1, from cache 0' in capsys.readouterr().out
    warned = [w for w in warnings if 'non-strict loading' in w]
    assert len(warned) == 1
    assert 'cls_head.fc_cls.weight' in warned[0]
    assert 'neck.decoder_embed.weight' in warned[0]
    board = json.loads((tmp_path / 'board' / 'leaderboard.json').read_text())
    assert 'acc/top1' in board['rows'][0]['results']['cls']['metrics']
    # the partial load's result does not answer a strict run
    assert board_tool.main(model + options) == 1
    assert 'missing keys' in capsys.readouterr().err
