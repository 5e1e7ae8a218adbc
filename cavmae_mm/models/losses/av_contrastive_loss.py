"""InfoNCE between mean-pooled audio and visual embeddings."""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.registry import MODELS
from ..utils.dist import all_gather_with_grad


@MODELS.register_module()
class AVInfoNCELoss(nn.Module):
    """Audio-visual InfoNCE of CAV-MAE (SPEC §4).

    ``S = normalize(A) @ normalize(V).T / temperature``; the default loss is
    ``-mean(diag(log_softmax(S, dim=0)))`` (for each visual embedding, pick
    its audio among the batch); ``bidirectional`` averages it with the same
    on ``S.T``. Accuracy: argmax over dim 0 hits the diagonal.

    Args:
        temperature (float): Defaults to 0.05.
        bidirectional (bool): Defaults to False.
        gather_distributed (bool): Gather the embeddings of all ranks (with
            gradients), so that every rank uses the global batch as
            negatives, exactly as one process with the global batch. False
            keeps per-rank negatives, as the reference's DataParallel
            training (where each GPU saw a quarter of the batch).
            Defaults to True.
        loss_weight (float): Defaults to 0.01.
    """

    def __init__(self,
                 temperature: float = 0.05,
                 bidirectional: bool = False,
                 gather_distributed: bool = True,
                 loss_weight: float = 0.01) -> None:
        super().__init__()
        self.temperature = temperature
        self.bidirectional = bidirectional
        self.gather_distributed = gather_distributed
        self.loss_weight = loss_weight

    @staticmethod
    def _nce_and_acc(similarity: torch.Tensor
                     ) -> Tuple[torch.Tensor, torch.Tensor]:
        # Column j holds visual j against every audio: softmax over dim 0.
        nce = -torch.diag(F.log_softmax(similarity, dim=0)).mean()
        target = torch.arange(similarity.shape[0], device=similarity.device)
        acc = (similarity.argmax(dim=0) == target).float().mean()
        return nce, acc

    def forward(self, audio_embedding: torch.Tensor,
                visual_embedding: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Args: embeddings ``[B, D]`` (not yet normalized).

        Returns: the weighted loss and the (unweighted) accuracy."""
        audio = F.normalize(audio_embedding.float(), dim=-1)
        visual = F.normalize(visual_embedding.float(), dim=-1)
        if self.gather_distributed:
            audio = all_gather_with_grad(audio)
            visual = all_gather_with_grad(visual)
        similarity = audio @ visual.T / self.temperature  # [B, B]
        nce, acc = self._nce_and_acc(similarity)
        if self.bidirectional:
            nce_t, acc_t = self._nce_and_acc(similarity.T)
            nce, acc = (nce + nce_t) / 2, (acc + acc_t) / 2
        return self.loss_weight * nce, acc
