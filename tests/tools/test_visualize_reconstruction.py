"""tools/visualize_reconstruction.py end to end on the real sample clips
and the generated toy data, with tiny random-weight checkpoints."""
import os
import os.path as osp

import numpy as np
from PIL import Image

from .tool_utils import CLIPS, load_tool

recon_tool = load_tool('visualize_reconstruction')


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
