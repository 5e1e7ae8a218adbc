"""tools/extract_features.py end to end on the generated toy data, with
tiny random-weight checkpoints."""
import glob
import json
import os.path as osp
import shutil

import numpy as np
from PIL import Image

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


def _features(path):
    with np.load(path) as feats:
        return {name: feats[name] for name in feats.files}


def test_extract_features_media_files_and_glob(toy, ckpts, tmp_path):
    videos = sorted(glob.glob(osp.join(toy, 'videos', '*.mp4')))[:3]
    args = [ckpts['tiny_pt_config'], ckpts['pretrain']]
    # .mp4 files given directly are probed as media, not read as text
    assert features_tool.main(args + videos + [
        '--out', str(tmp_path / 'files.npz'), '--workers', '0',
        '--no-progress']) == 0
    files = _features(tmp_path / 'files.npz')
    ids = [osp.splitext(osp.basename(v))[0] for v in videos]
    assert files['ids'].tolist() == ids
    assert files['missing'].tolist() == [''] * 3
    assert files['failed_ids'].size == 0
    assert np.isfinite(files['audio']).all()
    pattern = osp.join(toy, 'videos', 'toy_c00_*.mp4')
    assert features_tool.main(args + [
        pattern, '--out', str(tmp_path / 'glob.npz'), '--workers', '0',
        '--no-progress']) == 0
    matched = _features(tmp_path / 'glob.npz')
    expected = [osp.splitext(osp.basename(p))[0]
                for p in sorted(glob.glob(pattern))]
    assert matched['ids'].tolist() == expected
    row = expected.index(ids[0])
    np.testing.assert_allclose(matched['visual'][row], files['visual'][0],
                               atol=1e-5)


def _mixed_folder(toy, make_clip, tmp_path):
    """A folder: two toy clips, a clip without audio track, a text file."""
    folder = tmp_path / 'clips'
    folder.mkdir()
    for video in sorted(glob.glob(osp.join(toy, 'videos', '*.mp4')))[:2]:
        shutil.copy(video, folder)
    shutil.move(make_clip(name='mute.mp4', audio=False), folder)
    (folder / 'notes.txt').write_text('not a clip\n')
    return folder


def test_extract_features_folder_with_text_and_mute_clip(
        toy, ckpts, make_clip, tmp_path, capsys):
    folder = _mixed_folder(toy, make_clip, tmp_path)
    out = tmp_path / 'out' / 'feats'
    assert features_tool.main([
        ckpts['tiny_pt_config'], ckpts['pretrain'], str(folder), '--out',
        str(out), '--workers', '0', '--no-progress']) == 0
    assert '4 items (1 failed, 1 missing a modality)' in \
        capsys.readouterr().out
    ids = (out / 'ids.txt').read_text().split()
    assert ids[:2] == ['mute', 'notes'] and len(ids) == 4  # sorted
    meta = json.loads((out / 'meta.json').read_text())
    assert meta['missing'] == {'mute': 'audio (no audio track)'}
    assert list(meta['failed']) == ['notes']
    assert 'not a media file' in meta['failed']['notes']
    audio, visual = np.load(out / 'audio.npy'), np.load(out / 'visual.npy')
    assert np.isfinite(audio[2:]).all() and np.isfinite(visual[2:]).all()
    assert np.isfinite(visual[0]).all() and np.isnan(audio[:2]).all()
    assert np.isnan(visual[1]).all()


def test_extract_features_workers_and_batches_match_one_by_one(
        toy, ckpts, make_clip, tmp_path):
    folder = _mixed_folder(toy, make_clip, tmp_path)
    args = [ckpts['tiny_pt_config'], ckpts['pretrain'], str(folder),
            '--no-progress']
    runs = {}
    for name, workers, batch in (('single', '0', '1'), ('batched', '2', '2'),
                                 ('amp', '0', '2')):
        out = tmp_path / f'{name}.npz'
        extra = ['--amp'] if name == 'amp' else []
        assert features_tool.main(args + [
            '--out', str(out), '--workers', workers, '--batch-size', batch
        ] + extra) == 0
        runs[name] = _features(out)
    single, batched = runs['single'], runs['batched']
    for key in ('ids', 'missing', 'failed_ids'):
        assert batched[key].tolist() == single[key].tolist()
    for name in ('audio', 'visual'):
        np.testing.assert_allclose(batched[name], single[name], atol=1e-5)
        # bfloat16 autocast on the CPU: close, not equal
        amp, fp32 = runs['amp'][name], single[name]
        rows = np.isfinite(fp32).all(1)
        assert (np.isfinite(amp) == np.isfinite(fp32)).all()
        cosine = (amp[rows] * fp32[rows]).sum(1)
        assert (cosine > 0.98).all()
    assert json.loads(str(runs['amp']['meta']))['amp'] is True


def test_extract_features_audio_file_and_image(ckpts, make_clip, tmp_path):
    audio = make_clip(name='voice.m4a', video=False)
    image = tmp_path / 'still.jpg'
    Image.new('RGB', (64, 48), (200, 30, 30)).save(image)
    out = tmp_path / 'feats.npz'
    assert features_tool.main([
        ckpts['tiny_pt_config'], ckpts['pretrain'], audio, str(image),
        '--out', str(out), '--workers', '0', '--no-progress']) == 0
    feats = _features(out)
    assert feats['ids'].tolist() == ['voice', 'still']
    assert feats['missing'].tolist() == ['visual (not given)',
                                         'audio (not given)']
    assert np.isfinite(feats['audio'][0]).all()
    assert np.isnan(feats['visual'][0]).all()
    assert np.isfinite(feats['visual'][1]).all()
    assert np.isnan(feats['audio'][1]).all()


def test_extract_features_same_name_in_two_folders(ckpts, make_clip,
                                                   tmp_path):
    for folder in ('a', 'b'):
        (tmp_path / folder).mkdir()
        shutil.move(make_clip(name='clip.mp4'), tmp_path / folder)
    out = tmp_path / 'feats.npz'
    pattern = str(tmp_path / '*' / 'clip.mp4')
    assert features_tool.main([
        ckpts['tiny_pt_config'], ckpts['pretrain'], pattern, '--out',
        str(out), '--workers', '0', '--no-progress']) == 0
    assert _features(out)['ids'].tolist() == [
        str(tmp_path / folder / 'clip') for folder in ('a', 'b')]
