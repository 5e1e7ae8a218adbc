from .av_cls_head import CAVMAEClsHead
from .cavmae_pretrain_head import CAVMAEPretrainHead
from .frame_aggregation_head import CAVMAEFrameAggregationHead

__all__ = ['CAVMAEClsHead', 'CAVMAEPretrainHead', 'CAVMAEFrameAggregationHead']
