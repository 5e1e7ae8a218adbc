"""InfoNCE between mean-pooled audio and visual embeddings."""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.registry import MODELS
from ..utils.dist import all_gather_with_grad

SAME_CLIP_FRAMES = ('positive', 'negative', 'ignore')


@MODELS.register_module()
class AVInfoNCELoss(nn.Module):
    """Audio-visual InfoNCE of CAV-MAE (SPEC §4).

    ``S = normalize(A) @ normalize(V).T / temperature``; the default loss is
    ``-mean(diag(log_softmax(S, dim=0)))`` (for each visual embedding, pick
    its audio among the batch); ``bidirectional`` averages it with the same
    on ``S.T``. Accuracy: argmax over dim 0 hits the diagonal.

    Several frames per clip (CAV-MAE Sync's ``total_frame``; the rows are
    ``frames_per_clip`` consecutive frames of each clip, each frame paired
    with its own audio segment): ``same_clip_frames`` says what the other
    frames of a frame's clip are. ``'positive'`` (Sync's evaluation-mode
    loss, with the negatives excluded from the positive term instead of
    multiplied by 0): ``-(logsumexp over the clip's frames - logsumexp over
    all)``, accuracy = the argmax falls in the clip; ``'negative'``: plain
    per-frame InfoNCE (the pair is the only positive); ``'ignore'``: the
    pair is the positive and the clip's other frames are left out of the
    softmax. One frame per clip: all three are CAV-MAE's loss.

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
        same_clip_frames (str): ``'positive'``, ``'negative'`` or
            ``'ignore'`` (see above). Defaults to ``'positive'``.
    """

    def __init__(self,
                 temperature: float = 0.05,
                 bidirectional: bool = False,
                 gather_distributed: bool = True,
                 loss_weight: float = 0.01,
                 same_clip_frames: str = 'positive') -> None:
        super().__init__()
        if same_clip_frames not in SAME_CLIP_FRAMES:
            raise ValueError(f'same_clip_frames must be one of '
                             f'{SAME_CLIP_FRAMES}, got {same_clip_frames!r}')
        self.same_clip_frames = same_clip_frames
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

    @staticmethod
    def _masked_nce_and_acc(similarity: torch.Tensor, positive: torch.Tensor,
                            allowed: torch.Tensor
                            ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Per column ``j`` (a visual frame against the audio rows):
        ``-(logsumexp of S[i, j] over positive i - logsumexp over allowed
        i)``; accuracy: the allowed argmax is a positive. Masks
        ``[N, N]`` bool, ``positive`` within ``allowed``."""
        logits = similarity.masked_fill(~allowed, float('-inf'))
        positive_logits = similarity.masked_fill(~positive, float('-inf'))
        nce = -(torch.logsumexp(positive_logits, dim=0) -
                torch.logsumexp(logits, dim=0)).mean()
        best = logits.argmax(dim=0)  # [N]
        columns = torch.arange(similarity.shape[1], device=best.device)
        acc = positive[best, columns].float().mean()
        return nce, acc

    def _clip_masks(self, size: int, frames_per_clip: int,
                    device) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(positive, allowed)`` ``[N, N]`` for ``N`` clip-major rows."""
        if size % frames_per_clip:
            raise ValueError(f'{size} embeddings are not a whole number of '
                             f'clips of {frames_per_clip} frames')
        clip = torch.arange(size, device=device) // frames_per_clip
        same_clip = clip[:, None] == clip[None, :]
        pair = torch.eye(size, dtype=torch.bool, device=device)
        if self.same_clip_frames == 'positive':
            return same_clip, torch.ones_like(same_clip)
        if self.same_clip_frames == 'negative':
            return pair, torch.ones_like(same_clip)
        return pair, pair | ~same_clip  # ignore

    def forward(self, audio_embedding: torch.Tensor,
                visual_embedding: torch.Tensor,
                frames_per_clip: int = 1
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Args: embeddings ``[N, D]`` (not yet normalized), ``N`` = clips
        x ``frames_per_clip``, clip-major, audio segment ``i`` paired with
        frame ``i``.

        Returns: the weighted loss and the (unweighted) accuracy."""
        audio = F.normalize(audio_embedding.float(), dim=-1)
        visual = F.normalize(visual_embedding.float(), dim=-1)
        if self.gather_distributed:
            audio = all_gather_with_grad(audio)
            visual = all_gather_with_grad(visual)
        similarity = audio @ visual.T / self.temperature  # [B, B]
        if frames_per_clip == 1:
            def nce_and_acc(sim):
                return self._nce_and_acc(sim)
        else:
            masks = self._clip_masks(similarity.shape[0], frames_per_clip,
                                     similarity.device)  # both symmetric

            def nce_and_acc(sim):
                return self._masked_nce_and_acc(sim, *masks)
        nce, acc = nce_and_acc(similarity)
        if self.bidirectional:
            nce_t, acc_t = nce_and_acc(similarity.T)
            nce, acc = (nce + nce_t) / 2, (acc + acc_t) / 2
        return self.loss_weight * nce, acc
