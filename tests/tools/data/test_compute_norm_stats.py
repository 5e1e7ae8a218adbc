"""tools/data/compute_norm_stats.py: the fbank mean and std of a data set."""
import json

import numpy as np
import pytest
import torch

from ..tool_utils import import_tool


def test_compute_norm_stats(tmp_path, make_clip, capsys):
    from cavmae_mm.datasets.av_io import read_audio
    from cavmae_mm.datasets.transforms.audio import kaldi_fbank, pad_or_cut
    tool = import_tool('data/compute_norm_stats.py')
    paths = [make_clip(name=f'{i}.mp4', freqs=[300.0 * (i + 1)],
                       duration=1.0 + i) for i in range(3)]
    ann = tmp_path / 'list.txt'
    ann.write_text('\n'.join(paths))
    output = tmp_path / 'stats.json'
    assert tool.main([str(ann), '--target-length', '256', '--no-progress',
                      '--output', str(output)]) == 0
    stats = json.load(open(output))
    fbanks = []
    for path in paths:
        waveform = torch.from_numpy(read_audio(path)[0])[None]
        fbanks.append(pad_or_cut(kaldi_fbank(waveform - waveform.mean()),
                                 256))
    values = torch.stack(fbanks).double()
    assert stats['clips'] == 3 and stats['padded']
    assert stats['mean'] == pytest.approx(values.mean().item(), rel=1e-9)
    assert stats['std'] == pytest.approx(
        values.std(unbiased=False).item(), rel=1e-6)
    assert stats['std_ref'] == pytest.approx(
        np.mean([f.std().item() for f in fbanks]), rel=1e-6)
    assert "dict(type='NormalizeFbank', mean=" in capsys.readouterr().out
    assert tool.main([str(ann), '--target-length', '256', '--no-pad',
                      '--no-progress', '--max-items', '2',
                      '--workers', '2']) == 0
