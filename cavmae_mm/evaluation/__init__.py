"""Evaluation metrics registered in MMAction2's ``METRICS``:
``MultiLabelMetric`` (mAP, mAUC, d-prime), ``AVRetrievalMetric``
(R@1/5/10, MdR both ways; per-clip or aggregated per-frame features) and
``AVFrameAlignmentMetric`` (audio segment <-> frame within a clip).
Single-label top-1/top-5 accuracy is MMAction2's ``AccMetric``."""
from .functional import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
