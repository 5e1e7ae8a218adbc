"""The leaderboard's table: one column per task metric, Markdown."""
from typing import Dict, List

from tools.evaluation.tasks import parse_task

#: The retrieval metrics shown, in order.
RETRIEVAL_COLUMNS = tuple(f'retrieval/{direction}_R@{k}'
                          for direction in ('a2v', 'v2a')
                          for k in (1, 5, 10))
# The headline classification metric of each evaluator, best first.
CLS_COLUMNS = ('multilabel/mAP', 'acc/mean_average_precision', 'acc/top1')


def _selected_metrics(task: str, metrics: Dict[str, float]) -> List[str]:
    kind, _ = parse_task(task)
    if kind == 'retrieval':
        return [key for key in RETRIEVAL_COLUMNS if key in metrics]
    for key in CLS_COLUMNS:
        if key in metrics:
            return [key]
    return sorted(metrics)


def table_columns(tasks: List[str], rows: List[Dict]) -> List[Dict]:
    """``{'task', 'metric', 'header'}`` per column, in task order, the
    union over models."""
    columns = []
    for task in tasks:
        keys: List[str] = []
        for row in rows:
            result = row['results'].get(task, {})
            for key in _selected_metrics(task, result.get('metrics', {})):
                if key not in keys:
                    keys.append(key)
        if not keys:
            keys = [RETRIEVAL_COLUMNS[0] if task == 'retrieval' else
                    'metric']
        for key in keys:
            columns.append(dict(task=task, metric=key,
                                header=f'{task} {key.split("/")[-1]}'))
    return columns


def format_value(metric: str, value: float) -> str:
    """Percent with one decimal; a median rank as is."""
    if metric.endswith('MdR'):
        return f'{value:.1f}'
    return f'{100 * value:.1f}'


def markdown_table(board: Dict) -> str:
    headers = ['model'] + [column['header'] for column in board['columns']]
    lines = ['| ' + ' | '.join(headers) + ' |',
             '|' + '|'.join(['---'] + ['---:'] * len(board['columns'])) +
             '|']
    for row in board['rows']:
        cells = [row['model']]
        for column in board['columns']:
            result = row['results'].get(column['task'], {})
            value = result.get('metrics', {}).get(column['metric'])
            if value is not None:
                cells.append(format_value(column['metric'], value))
            else:
                cells.append('error' if result.get('status') == 'error'
                             else 'n/a')
        lines.append('| ' + ' | '.join(cells) + ' |')
    notes = [f'- {row["model"]}, {task}: {result["reason"]}'
             for row in board['rows']
             for task, result in row['results'].items()
             if result.get('status') != 'ok']
    text = '\n'.join(lines)
    text += ('\n\nMetrics in percent (R@k, mAP, top-1); MdR is a median '
             'rank.')
    if notes:
        text += '\n\n' + '\n'.join(notes)
    return text + '\n'
