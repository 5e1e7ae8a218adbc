from .av_cls_head import CAVMAEClsHead
from .cavmae_pretrain_head import CAVMAEPretrainHead

__all__ = ['CAVMAEClsHead', 'CAVMAEPretrainHead']
