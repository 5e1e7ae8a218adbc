"""Shared by the metric tests: multi-label data, a per-query ranking loop,
and an MMEngine Evaluator run."""
import numpy as np
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope

import cavmae_mm  # noqa: F401


def multilabel_data(num=200, classes=12, seed=0, levels=None):
    rng = np.random.default_rng(seed)
    targets = rng.random((num, classes)) < rng.uniform(0.02, 0.5, classes)
    scores = targets * rng.uniform(0, 1.5, classes) + rng.normal(
        size=(num, classes))
    if levels:  # quantize to create many ties
        scores = np.round(scores * levels) / levels
    targets[:, 0] = False
    targets[3, 0] = True  # a class with a single positive
    return scores, targets


def evaluate(metric_cfg, samples):
    init_default_scope('mmaction')
    evaluator = Evaluator(metric_cfg)
    evaluator.process(samples)
    return evaluator.evaluate(len(samples))


def naive_ranks(sim):
    """Per-query loop: how many candidates score at least the match."""
    ranks = []
    for i in range(sim.shape[0]):
        ranks.append(sum(1 for j in range(sim.shape[1])
                         if j != i and sim[i, j] >= sim[i, i]))
    return np.array(ranks)
