"""Retrieval embeddings of any CAV-MAE model in MMEngine's test loop."""
from typing import Dict, Union

import torch
from mmengine.model import BaseModel

from mmaction.utils import OptSampleList
from ..utils.init_log import InitInfoAtDebugMixin
from .cavmae import store_embeddings


class AVEmbeddingModel(InitInfoAtDebugMixin, BaseModel):
    """Wraps a ``CAVMAE`` or a fine-tuned ``CAVMAERecognizer`` so that its
    ``predict`` stores the retrieval embeddings (``audio_feature``,
    ``visual_feature``, see
    :func:`~cavmae_mm.models.utils.embeddings.retrieval_embeddings`) in
    the data samples, as ``AVRetrievalMetric`` reads them: retrieval with a
    fine-tuned model in MMEngine's test loop.

    Args:
        model (BaseModel): The wrapped model, with an
            ``extract_embeddings(inputs)`` method; its data preprocessor is
            used.
    """

    def __init__(self, model: BaseModel) -> None:
        super().__init__(data_preprocessor=model.data_preprocessor)
        self.model = model

    def forward(self,
                inputs: Dict[str, torch.Tensor],
                data_samples: OptSampleList = None,
                mode: str = 'predict') -> Union[Dict, list]:
        """The data samples with the embeddings set, or the embeddings
        (``audio`` / ``visual`` ``[B, D]``) when there are no samples."""
        if mode != 'predict':
            raise RuntimeError(f'{type(self).__name__} only predicts, got '
                               f'mode {mode!r}')
        return store_embeddings(self.model.extract_embeddings(inputs),
                                data_samples)
