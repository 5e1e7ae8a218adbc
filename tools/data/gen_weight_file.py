"""Write the class-balanced sample weights of an annotation file.

The reference's formula (``gen_weight_file.py``): a class weighs
``1000 / (count + 0.01)``, a sample the sum of its classes' weights. The
output, one float per line, goes to ``<annotation stem>_weight.csv``, where
``ClassBalancedSampler`` finds it.

Example::

    python tools/data/gen_weight_file.py data/toy_av/finetune_train.json \\
        --label-csv data/toy_av/class_labels_indices.csv
"""
import argparse
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('ann_file', help='JSON annotation or video list')
    parser.add_argument('--label-csv', required=True)
    parser.add_argument(
        '--output', help='default: <annotation stem>_weight.csv')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import numpy as np
    from cavmae_mm.datasets.av_dataset import read_annotation
    from cavmae_mm.datasets.class_labels import load_label_csv
    from cavmae_mm.datasets.samplers import (class_balanced_weights,
                                             default_weight_file)
    rows = load_label_csv(args.label_csv)
    lookup = {row['mid']: i for i, row in enumerate(rows)}
    label_ids = []
    for i, entry in enumerate(read_annotation(args.ann_file)):
        labels = entry.get('labels') or ''
        tokens = labels.split(',') if isinstance(labels, str) else labels
        try:
            label_ids.append(
                [lookup[t.strip()] for t in tokens if t.strip()])
        except KeyError as err:
            print(f'item {i}: unknown label {err}', file=sys.stderr)
            return 1
    weights = class_balanced_weights(label_ids, len(rows))
    output = args.output or default_weight_file(args.ann_file)
    np.savetxt(output, weights, delimiter=',')
    print(f'{len(weights)} weights ({weights.min():.3f} .. '
          f'{weights.max():.3f}) -> {output}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
