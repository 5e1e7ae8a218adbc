"""tools/extract_features.py end to end on the generated toy data, with
tiny random-weight checkpoints."""
import json
import os.path as osp

import numpy as np

from .tool_utils import load_tool

EMBED_DIMS = 64  # the tiny models
features_tool = load_tool('extract_features')


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
