"""The CAV-MAE toy demo's table over several seeds
(``tools/run_toy_demo.py --seeds``)."""
from typing import Mapping, Sequence

from .seeds import cell, format_rows, summarize

RETRIEVAL_KEYS = (('a2v_R@1', True), ('a2v_R@5', True), ('a2v_MdR', False),
                  ('v2a_R@1', True), ('v2a_R@5', True), ('v2a_MdR', False))


def cavmae_demo_table(per_seed: Sequence[Mapping],
                      seeds: Sequence[int]) -> str:
    """Mean [min-max] over the seeds of every number of the demo's table
    (each seed's ``results.json``)."""
    summary = summarize(per_seed)
    num_clips = int(per_seed[0]['retrieval']['num_clips'])
    num_classes = int(per_seed[0]['num_classes'])
    rows = [('model', 'A->V R@1', 'A->V R@5', 'A->V MdR', 'V->A R@1',
             'V->A R@5', 'V->A MdR')]
    for name in ('random_init', 'pretrained'):
        rows.append((name.replace('_', ' '), *[
            cell(summary[f'retrieval/{name}/{key}'], percent)
            for key, percent in RETRIEVAL_KEYS
        ]))
    rows.append(('chance', f'{100 / num_clips:.1f}',
                 f'{100 * min(5, num_clips) / num_clips:.1f}',
                 f'{(num_clips + 1) / 2:.1f}', f'{100 / num_clips:.1f}',
                 f'{100 * min(5, num_clips) / num_clips:.1f}',
                 f'{(num_clips + 1) / 2:.1f}'))
    lines = [f'Mean [min-max] over seeds {list(seeds)}.',
             f'Retrieval on the toy retrieval split ({num_clips} clips, '
             'R@k in %):']
    lines += format_rows(rows)
    lines.append('Classification of the toy classes (fine-tuned, 10-frame '
                 f'ensemble, chance {100 / num_classes:.1f} %):')
    rows = [('weights', 'top-1', 'top-5')]
    for name in ('last', 'averaged'):
        if f'classification/{name}/top1' in summary:
            rows.append((name, cell(summary[f'classification/{name}/top1']),
                         cell(summary[f'classification/{name}/top5'])))
    lines += format_rows(rows)
    lines.append('Time per seed: ' + ', '.join(
        f'{key.split("/")[-1]} {cell(stats, False, 0)} s'
        for key, stats in summary.items() if key.startswith('time_s/')))
    return '\n'.join(lines)
