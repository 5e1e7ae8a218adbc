from .cavmae_decoder import CAVMAEPretrainDecoder

__all__ = ['CAVMAEPretrainDecoder']
