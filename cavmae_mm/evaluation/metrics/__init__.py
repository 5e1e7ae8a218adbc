from .frame_alignment_metric import AVFrameAlignmentMetric
from .multilabel_metric import MultiLabelMetric
from .retrieval_metric import AVRetrievalMetric

__all__ = ['MultiLabelMetric', 'AVRetrievalMetric', 'AVFrameAlignmentMetric']
