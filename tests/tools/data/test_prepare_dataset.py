"""tools/data/prepare_dataset.py end to end: a folder of generated clips and
a labels CSV -> a data set under --out-dir, a report accounting for every
file, and tools/train.py lines that pre-train and fine-tune the shipped
VGGSound configs on it with --data-root as the only path override."""
import csv
import json
import math
import os
import os.path as osp
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.datasets.av_io.clips import write_clip

ROOT = Path(__file__).resolve().parents[3]
TOOL = ROOT / 'tools/data/prepare_dataset.py'
CLASSES = ('dog', 'rain', 'engine')
PER_CLASS = 4

# Sizes only (the shipped ViT-B recipes with a tiny encoder and in-process
# data loading); no path.
TINY = ['model.backbone.embed_dims=64', 'model.backbone.num_heads=4',
        'model.backbone.modality_specific_depth=2',
        'model.backbone.shared_depth=1']
IN_PROCESS = [f'{loader}_dataloader.{key}'
              for loader in ('train', 'val', 'test')
              for key in ('num_workers=0', 'persistent_workers=False')]
OVERRIDES = {
    'cavmae_pretrain_vggsound.py': TINY + [
        'model.neck.decoder_embed_dims=32', 'model.neck.decoder_depth=1',
        'model.neck.decoder_num_heads=4',
        # Pre-training from scratch: there is no AudioSet model to continue
        # from in a test.
        'load_from=None'
    ],
    'cavmae_finetune_vggsound.py': TINY + ['model.cls_head.in_channels=64'],
}


def make_folder(root):
    """4 clips of each class (half in a sub-folder), a clip without audio,
    a text file; the labels CSV names files by relative path, by file name
    or by name without extension, and lists a file that is not there."""
    folder = root / 'videos'
    (folder / 'sub').mkdir(parents=True)
    rows = [('file', 'label')]
    for name in CLASSES:
        for k in range(PER_CLASS):
            relative = f'sub/{name}_{k}.mp4' if k % 2 else f'{name}_{k}.mp4'
            write_clip(folder / relative, list(range(20)), rate=10,
                       audio_codec='aac')
            rows.append(({0: relative, 1: f'{name}_{k}.mp4',
                          2: relative}.get(k, f'{name}_{k}'), name))
    write_clip(folder / 'mute.mp4', list(range(20)), rate=10)
    rows += [('mute.mp4', 'dog'), ('gone.mp4', 'rain')]
    (folder / 'notes.txt').write_text('not a video')
    labels = root / 'labels.csv'
    with open(labels, 'w', newline='') as f:
        csv.writer(f).writerows(rows)
    return folder, labels


def run(args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def printed_lines(stdout):
    """The command lines after 'Train on it with:' (comments dropped)."""
    lines = stdout.split('Train on it with:\n', 1)[1].splitlines()
    return [shlex.split(line.split('#')[0]) for line in lines
            if line.strip().startswith('python ')]


def scalars(work_dir):
    runs = sorted(d for d in os.listdir(work_dir)
                  if osp.isfile(osp.join(work_dir, d, 'vis_data',
                                         'scalars.json')))
    with open(osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json')) as f:
        return [json.loads(line) for line in f]


@pytest.mark.slow
def test_folder_to_trained_models(tmp_path):
    folder, labels = make_folder(tmp_path)
    out = tmp_path / 'mine'
    result = run([str(TOOL), str(folder), '--labels', str(labels),
                  '--out-dir', str(out), '--extract', '--val-fraction',
                  '0.25', '--retrieval-per-class', '1', '--no-progress'],
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert '14 files in' in result.stdout

    # Every file accounted for: used (with its splits) or skipped (why).
    report = json.loads((out / 'prepare_report.json').read_text())
    files = {osp.relpath(item['file'], folder): item
             for item in report['files']}
    on_disk = {osp.relpath(osp.join(d, name), folder)
               for d, _, names in os.walk(folder) for name in names}
    assert set(files) == on_disk
    assert files['mute.mp4']['status'] == 'skipped'
    assert 'no audio track' in files['mute.mp4']['reason']
    assert files['notes.txt']['reason'] == f'not in {labels}'
    assert [row['file'] for row in report['unmatched_label_rows']] == [
        'gone.mp4']
    used = [item for item in files.values() if item['status'] == 'used']
    assert len(used) == len(CLASSES) * PER_CLASS

    # The VGGSound configs' file names; stratified split, 1 of 4 per class
    # held out and used for retrieval.
    def entries(name):
        return json.loads((out / name).read_text())['data']

    train = entries('vgg_train_cleaned.json')
    val = entries('vgg_test_cleaned.json')
    retrieval = entries('vgg_test_5_per_class_for_retrieval_cleaned.json')
    assert len(train) == 9 and len(val) == 3
    assert sorted(e['labels'] for e in val) == sorted(CLASSES)
    assert retrieval == val
    assert all((out / e['wav']).is_file() for e in train + val)
    assert all(not osp.isabs(e['wav']) for e in train + val)
    with open(out / 'class_labels_indices_vgg.csv') as f:
        assert [row['mid'] for row in csv.DictReader(f)] == sorted(CLASSES)
    weights = (out / 'vgg_train_cleaned_weight.csv').read_text().split()
    assert len(weights) == 9
    assert all(math.isclose(float(w), 1000 / 3.01) for w in weights)

    # The printed lines: the shipped configs, --data-root the only path
    # option; run them (from an empty folder, as a user would from theirs)
    # with size-only overrides.
    lines = printed_lines(result.stdout)
    train_lines = [line for line in lines if 'tools/train.py' in line[1]]
    assert [osp.basename(line[2]) for line in train_lines] == list(OVERRIDES)
    for line in lines:
        assert line[line.index('--data-root') + 1] == str(out)
        assert not any(arg in line for arg in ('--work-dir', '--resume'))
    assert train_lines[1][-1] == 'model.cls_head.num_classes=3'
    # Where the VGGSound pre-training continues from, and that it is not
    # there yet.
    assert 'continues from work_dirs/cavmae_pretrain/epoch_25.pth' in \
        result.stdout
    assert '# work_dirs/cavmae_pretrain/epoch_25.pth is not there' in \
        result.stdout
    for line in train_lines:
        config = osp.basename(line[2])
        args = [str(ROOT / line[1]), str(ROOT / line[2]), *line[3:]]
        if '--cfg-options' not in args:
            args.append('--cfg-options')
        result = run(args + OVERRIDES[config], cwd=tmp_path)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr
        work_dir = tmp_path / 'work_dirs' / osp.splitext(config)[0]
        losses = [r['loss'] for r in scalars(work_dir) if 'loss' in r]
        assert losses and all(math.isfinite(loss) for loss in losses)
        # tools/train.py's validation loops report their progress.
        assert ' - val: 1/1 (100%)' in result.stdout + result.stderr
    # Fine-tuning started from the pre-training's last checkpoint (the
    # config's load_from) and wrote its own.
    assert (tmp_path / 'work_dirs/cavmae_pretrain_vggsound/epoch_25.pth'
            ).is_file()
    assert 'Load checkpoint from work_dirs/cavmae_pretrain_vggsound/' \
        'epoch_25.pth' in result.stdout + result.stderr
    assert (tmp_path / 'work_dirs/cavmae_finetune_vggsound/epoch_10.pth'
            ).is_file()


def test_without_labels_pretraining_and_retrieval_only(tmp_path):
    folder, _ = make_folder(tmp_path)
    out = tmp_path / 'unlabelled'
    result = run([str(TOOL), str(folder), '--out-dir', str(out),
                  '--val-fraction', '0.25', '--no-progress'], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert 'No labels: pre-training and retrieval only' in result.stdout
    report = json.loads((out / 'prepare_report.json').read_text())
    assert report['layout'] == 'audioset'
    reasons = {osp.basename(item['file']): item.get('reason')
               for item in report['files']}
    assert 'no audio track' in reasons['mute.mp4']
    assert 'notes.txt' in reasons and reasons['notes.txt']
    train = json.loads((out / 'audioset_2m_cleaned.json').read_text())
    retrieval = json.loads(
        (out / 'audioset_eval_5_per_class_for_retrieval_cleaned.json'
         ).read_text())
    assert len(train['data']) + len(retrieval['data']) == 12
    assert len(retrieval['data']) == 3
    assert not (out / 'audioset_eval_cleaned.json').exists()
    assert all(osp.isabs(e['video']) and 'wav' not in e
               for e in train['data'])
    lines = printed_lines(result.stdout)
    assert [osp.basename(line[2]) for line in lines] == [
        'cavmae_pretrain.py', 'cavmae_retrieval_audioset.py']


def test_bad_labels_csv_names_the_line(tmp_path):
    folder, _ = make_folder(tmp_path)
    labels = tmp_path / 'bad.csv'
    labels.write_text('file,label\ndog_0.mp4,dog\nrain_0.mp4,\n')
    result = run([str(TOOL), str(folder), '--labels', str(labels),
                  '--out-dir', str(tmp_path / 'x')], cwd=tmp_path)
    assert result.returncode == 1
    assert f"{labels}, line 3: no label for 'rain_0.mp4'" in result.stderr
