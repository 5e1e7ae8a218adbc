"""tools/benchmark.py extract: the end-to-end and model-only rates are
measured on real generated clips and the ratio is theirs (not their
speed)."""
import json
import statistics

from tools.benchmark import build_parser

TINY = ['model.backbone.embed_dims=64', 'model.backbone.num_heads=4',
        'model.backbone.modality_specific_depth=1',
        'model.backbone.shared_depth=1', 'model.neck.decoder_embed_dims=32',
        'model.neck.decoder_depth=1', 'model.neck.decoder_num_heads=4']


def test_extract_benchmark_reports_both_rates_and_their_ratio(tmp_path,
                                                              capsys):
    output = tmp_path / 'extract.json'
    args = build_parser().parse_args([
        'extract', '--clips', '3', '--size', '96x64', '--duration', '1',
        '--workers', '1', '--batch', '2', '--rounds', '2', '--warmup', '0',
        '--model-iters', '1', '--gen-workers', '1', '--dtype', 'fp32',
        '--work-dir', str(tmp_path), '--target', '0.8', '--output',
        str(output), '--cfg-options', *TINY
    ])
    result = args.func(args)
    assert json.loads(output.read_text()) == json.loads(json.dumps(result))
    assert result['clips'] == 3 and len(result['end_to_end_clips_s']) == 2
    assert all(rate > 0 for rate in result['end_to_end_clips_s'] +
               result['model_only_clips_s'])
    assert result['ratio'] == statistics.median(
        result['end_to_end_clips_s']) / statistics.median(
            result['model_only_clips_s'])
    assert result['met'] == (result['ratio'] >= 0.8)
    # Where the end-to-end time went: the model and the waits for data
    # are parts of it.
    for parts, rate in zip(result['end_to_end_seconds'],
                           result['end_to_end_clips_s']):
        assert 0 < parts['model'] and 0 <= parts['wait']
        assert 0 < parts['setup']  # building the model: not throughput
        assert parts['setup'] + parts['model'] + parts['wait'] <= \
            parts['total']
        assert rate == 3 / (parts['total'] - parts['setup'])
    # The extraction itself ran: the features of the 3 clips.
    import numpy as np
    features = np.load(tmp_path / 'features.npz')
    assert features['audio'].shape[0] == 3
    assert not np.isnan(features['audio']).any()
    printed = capsys.readouterr().out
    assert f'ratio {result["ratio"]:.3f} (target >= 0.8)' in printed
