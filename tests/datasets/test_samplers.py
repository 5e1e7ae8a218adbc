"""ClassBalancedSampler: the reference's weights, several processes."""
import numpy as np
import pytest

from cavmae_mm.datasets import samplers
from cavmae_mm.datasets.samplers import (ClassBalancedSampler,
                                         class_balanced_weights,
                                         default_weight_file)


class FakeDataset:
    """Just what the sampler reads: labels, ``ann_file``, ``num_classes``."""

    def __init__(self, label_ids, num_classes, ann_file=None):
        self.label_ids = label_ids
        self.num_classes = num_classes
        self.ann_file = ann_file

    def __len__(self):
        return len(self.label_ids)

    def get_data_info(self, index):
        return dict(label_ids=self.label_ids[index])


def reference_weights(label_ids, num_classes):
    """The reference's ``gen_weight_file.py`` loops."""
    label_count = np.zeros(num_classes)
    for labels in label_ids:
        for label in labels:
            label_count[label] = label_count[label] + 1
    label_weight = 1000.0 / (label_count + 0.01)
    sample_weight = np.zeros(len(label_ids))
    for i, labels in enumerate(label_ids):
        for label in labels:
            sample_weight[i] += label_weight[label]
    return sample_weight


LABELS = [[0], [0], [0], [0], [0, 1], [1], [2], [0, 2]]


def test_weights_equal_reference():
    np.testing.assert_array_equal(
        class_balanced_weights(LABELS, 3), reference_weights(LABELS, 3))


def test_weight_file_is_found_next_to_the_annotation(tmp_path):
    ann = tmp_path / 'train.json'
    assert default_weight_file(str(ann)) == str(tmp_path / 'train_weight.csv')
    weights = np.arange(1, 9, dtype=float)
    np.savetxt(tmp_path / 'train_weight.csv', weights, delimiter=',')
    sampler = ClassBalancedSampler(FakeDataset(LABELS, 3, str(ann)), seed=0)
    assert sampler.weight_source.endswith('train_weight.csv')
    np.testing.assert_array_equal(sampler.weights.numpy(), weights)
    # Explicit file with the wrong length.
    np.savetxt(tmp_path / 'short.csv', weights[:3], delimiter=',')
    with pytest.raises(ValueError, match='3 weights for 8 samples'):
        ClassBalancedSampler(FakeDataset(LABELS, 3, str(ann)),
                             weight_file=str(tmp_path / 'short.csv'), seed=0)


def test_draws_follow_the_weights():
    dataset = FakeDataset(LABELS, 3)  # no weight file: from the labels
    sampler = ClassBalancedSampler(dataset, num_samples=40000, seed=1)
    assert sampler.weight_source == 'labels' and len(sampler) == 40000
    counts = np.bincount(list(sampler), minlength=len(LABELS))
    weights = class_balanced_weights(LABELS, 3)
    np.testing.assert_allclose(counts / counts.sum(),
                               weights / weights.sum(), atol=0.01)
    # One epoch = len(dataset) draws by default, with replacement.
    assert len(list(ClassBalancedSampler(dataset, seed=1))) == len(LABELS)


def test_epochs_and_ranks(monkeypatch):
    dataset = FakeDataset(LABELS * 10, 3)  # 80 samples
    single = ClassBalancedSampler(dataset, num_samples=101, seed=5)
    single.set_epoch(3)
    full = list(single)
    single.set_epoch(4)
    assert list(single) != full  # a new draw each epoch
    single.set_epoch(3)
    assert list(single) == full  # deterministic for (seed, epoch)

    world_size = 3
    per_rank = []
    for rank in range(world_size):
        monkeypatch.setattr(samplers, 'get_dist_info',
                            lambda rank=rank: (rank, world_size))
        sampler = ClassBalancedSampler(dataset, num_samples=101, seed=5)
        sampler.set_epoch(3)
        per_rank.append(list(sampler))
        assert len(sampler) == 34  # ceil(101 / 3)
    # Together the ranks make one draw of the global size, interleaved, as
    # one process drawing ceil(101 / 3) * 3 samples would.
    monkeypatch.setattr(samplers, 'get_dist_info', lambda: (0, 1))
    reference = ClassBalancedSampler(dataset, num_samples=102, seed=5)
    reference.set_epoch(3)
    merged = [per_rank[i % 3][i // 3] for i in range(102)]
    assert merged == list(reference)
    assert full == list(reference)[:101]


def test_built_from_a_config(tmp_path, mmaction_scope):
    from mmaction.registry import DATA_SAMPLERS
    sampler = DATA_SAMPLERS.build(
        dict(type='ClassBalancedSampler'),
        default_args=dict(dataset=FakeDataset(LABELS, 3), seed=0))
    assert isinstance(sampler, ClassBalancedSampler)


def test_repeated_draws_carry_their_repeat_number(monkeypatch):
    """The k-th draw of an index in an epoch has ``repeat=k`` (its own
    sample seed), counted over the draw of all ranks."""
    dataset = FakeDataset(LABELS * 2, 3)  # 16 samples, 40 draws
    sampler = ClassBalancedSampler(dataset, num_samples=40, seed=5)
    draws = list(sampler)
    seen = {}
    for index in draws:
        assert getattr(index, 'repeat', 0) == seen.get(int(index), 0)
        seen[int(index)] = seen.get(int(index), 0) + 1
    assert max(seen.values()) > 1
    monkeypatch.setattr(samplers, 'get_dist_info', lambda: (1, 2))
    rank1 = list(ClassBalancedSampler(dataset, num_samples=40, seed=5))
    assert [getattr(i, 'repeat', 0) for i in rank1] == \
        [getattr(i, 'repeat', 0) for i in draws[1::2]]
