"""Retrieval embeddings: of preprocessed inputs, of a batch, of one clip,
and a wrapper that lets MMEngine's test loop evaluate retrieval with any
CAV-MAE model."""
import logging
from typing import Dict, Sequence, Union

import torch
import torch.nn as nn
from mmengine.dataset import pseudo_collate
from mmengine.logging import print_log

from ..models.modes import MODALITY_NAMES
from .inputs import VideoOrPair
from .pipeline import InferencePipeline


@torch.no_grad()
def embed_inputs(model: nn.Module,
                 inputs: Dict[str, torch.Tensor],
                 with_tokens: bool = False) -> Dict[str, torch.Tensor]:
    """Retrieval embeddings of preprocessed inputs: the model's
    ``extract_embeddings`` (see
    :func:`~cavmae_mm.models.utils.embeddings.retrieval_embeddings`)
    without gradients.

    Args:
        model (nn.Module): ``CAVMAE`` or ``CAVMAERecognizer``.
        inputs (dict): After the data preprocessor: ``audio [B, T, F]``
            and/or ``imgs [B, V, 3, H, W]``.
        with_tokens (bool): Also return the token features.
            Defaults to False.

    Returns:
        dict: ``audio`` / ``visual`` ``[B, D]`` (unit norm) for each given
        modality and, with ``with_tokens``, ``audio_tokens`` ``[B, La, D]``
        and ``visual_tokens`` ``[B, V, Lv, D]`` (after the shared layers and
        the modality's final norm).
    """
    return model.extract_embeddings(inputs, with_tokens=with_tokens)


@torch.no_grad()
def embed_batch(model: nn.Module, data_batch: Dict,
                with_tokens: bool = False) -> Dict[str, torch.Tensor]:
    """:func:`embed_inputs` of a collated batch (``pseudo_collate`` of
    packed samples), after the model's data preprocessor."""
    data = model.data_preprocessor(data_batch, False)
    return embed_inputs(model, data['inputs'], with_tokens)


@torch.no_grad()
def extract_features(model: nn.Module,
                     video_or_pair: VideoOrPair,
                     with_tokens: bool = False,
                     frames: Union[None, str, int] = None,
                     modalities: Sequence[str] = ('audio', 'imgs'),
                     allow_missing: bool = True) -> Dict:
    """L2-normalized audio and visual embeddings of one clip, its inputs
    built by the config's test pipeline (see
    :class:`~cavmae_mm.apis.pipeline.InferencePipeline`).

    Args:
        model (nn.Module): A pre-training ``CAVMAE`` or a fine-tuned
            ``CAVMAERecognizer``.
        video_or_pair (str | Path | tuple | dict): A video file, an
            ``(audio, image)`` pair (either may be None) or a data_info
            dict (see :func:`~cavmae_mm.apis.inputs.item_to_data_info`).
        with_tokens (bool): Also return token features. Defaults to False.
        frames (str | int, optional): ``SampleAVFrames``' mode:
            ``'middle'``, ``'all'`` or a frame position (several frames are
            averaged); None keeps the test pipeline's. Defaults to None.
        modalities (Sequence[str]): Which of ``'audio'``, ``'imgs'`` to
            embed. Defaults to both.
        allow_missing (bool): Return what the input has when a modality is
            missing (e.g. a video without audio track) instead of raising.
            Defaults to True.

    Returns:
        dict: ``video_id``, ``missing`` (``{modality: reason}``) and CPU
        float32 tensors ``audio`` ``[D]``, ``visual`` ``[D]`` (unit norm)
        and with ``with_tokens`` ``audio_tokens`` ``[La, D]``,
        ``visual_tokens`` ``[V, Lv, D]``, for the modalities present.

    Raises:
        ModalityError: A wanted modality is missing and ``allow_missing``
            is False, or none could be loaded.
        ValueError: The model's config has no test pipeline.
        FileNotFoundError, AVDataError: Bad input files.
    """
    pipeline = InferencePipeline.of_model(model, frames)
    data, missing = pipeline(video_or_pair, modalities,
                             allow_missing=allow_missing)
    if missing:
        print_log(
            f'{data["data_samples"].video_id}: no ' + ', '.join(
                f'{MODALITY_NAMES[m]} ({reason})'
                for m, reason in missing.items()) + ': embedding only ' +
            ', '.join(MODALITY_NAMES[m] for m in data['inputs']),
            logger='current', level=logging.WARNING)
    features = embed_batch(model, pseudo_collate([data]), with_tokens)
    out = dict(video_id=data['data_samples'].video_id, missing=missing)
    out.update({k: v[0].float().cpu() for k, v in features.items()})
    return out
