"""Small synthetic shard sets for the shard tests: real tar files written
with webdataset's TarWriter, real wav and JPEG bytes, a real index."""
import io
import json
import os.path as osp

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from cavmae_mm.datasets.av_io import wav_bytes
from cavmae_mm.datasets.shards.index import (INDEX_FORMAT, frame_suffix,
                                             shard_key, write_index)
from mmaction.registry import TRANSFORMS

CLASSES = ('/t/a', '/t/b', '/t/c')


@TRANSFORMS.register_module(force=True)
class KeepShardSampleIds(BaseTransform):
    """Test transform: the clip id, seed and waveform level as the sample
    (``inputs``: a 1-element tensor the test models can consume)."""

    def transform(self, results):
        return dict(inputs=torch.tensor([float(results['waveform'][0])]),
                    data_samples=dict(video_id=results['video_id'],
                                      sample_seed=results.get('sample_seed'),
                                      label=results['label']))


def jpeg(value):
    from PIL import Image
    buffer = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(
        buffer, format='JPEG')
    return buffer.getvalue()


def clip_id(number):
    return f'clip{number:03d}.000'  # a dot, as AudioSet's ids have


def write_shards(root, sizes, labels=None):
    """Shards of ``sizes`` samples with clip ids ``clip<n>.000`` in order;
    clip ``n`` has the label ``labels[n]`` (default ``CLASSES[n % 3]``) and
    a constant waveform of level ``n / 1000``. Returns the index path."""
    from webdataset import TarWriter
    shards, number = [], 0
    with open(osp.join(root, 'labels.csv'), 'w') as f:
        f.write('index,mid,display_name\n')
        for i, mid in enumerate(CLASSES):
            f.write(f'{i},{mid},class {i}\n')
    for shard_number, size in enumerate(sizes):
        name = f'shard-{shard_number:06d}.tar'
        counts = {}
        with TarWriter(osp.join(root, name), encoder=False, mtime=0) as tar:
            for _ in range(size):
                label = labels[number] if labels else CLASSES[number % 3]
                counts[label] = counts.get(label, 0) + 1
                video_id = clip_id(number)
                tar.write({
                    '__key__': shard_key(video_id),
                    'wav': wav_bytes(np.full(400, number / 1000.,
                                             np.float32)),
                    'json': json.dumps(dict(video_id=video_id,
                                            labels=[label])).encode(),
                    frame_suffix(0): jpeg(number % 256),
                })
                number += 1
        shards.append(dict(url=name, num_samples=size, label_counts=counts))
    index = osp.join(root, 'index.json')
    write_index(index, dict(format=INDEX_FORMAT, complete=True,
                            num_samples=sum(sizes), shards=shards))
    return index


def dataset_cfg(index, batch_size, **kwargs):
    cfg = dict(type='ShardedAVDataset', index_file=index,
               label_csv=osp.join(osp.dirname(index), 'labels.csv'),
               multi_label=False, batch_size=batch_size, shuffle_buffer=4,
               shuffle_initial=2,
               pipeline=[dict(type='LoadAudioWaveform', silence='keep'),
                         dict(type='KeepShardSampleIds')])
    cfg.update(kwargs)
    return cfg
