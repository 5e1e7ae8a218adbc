"""Per-frame audio segments (CAV-MAE Sync, SPEC_SYNC "Data"): the part of
the clip's spectrogram around each sampled frame.

Sync pipeline order (the released loader: cut, then normalize)::

    LoadAudioWaveform -> SampleAVFrames -> KaldiFbank(target_length=L)
    -> FrameAudioSegments(segment_length=T) -> NormalizeFbank

``NormalizeFbank`` is element-wise, so normalizing before the cut gives the
same values bit for bit (tested); after it is the reference's order and the
one the configs use.
"""
from typing import Dict, List, Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS


def frame_segment_start(position: int, num_positions: int, num_rows: int,
                        segment_length: int) -> int:
    """First spectrogram row of frame ``position``'s audio segment.

    The released loader's rule (``map_frame_to_spectrogram``): the frame's
    row ``pos = int(round(position * num_rows / num_positions))`` (Python's
    round, half to even), ``start = max(0, pos - segment_length // 2)``,
    and a segment running past the end is moved back to end at
    ``num_rows``.

    Args:
        position (int): Frame position ``k`` in ``[0, num_positions)``.
        num_positions (int): Positions per clip ``F``.
        num_rows (int): Rows of the clip's (padded/cut) spectrogram ``L``.
        segment_length (int): Rows per segment ``T``, at most ``num_rows``.

    Returns:
        int: ``start``; the segment is rows ``[start, start + T)``.
    """
    if segment_length > num_rows:
        raise ValueError(f'segment_length {segment_length} is longer than '
                         f'the clip spectrogram ({num_rows} rows)')
    center = int(round(position * num_rows / num_positions))
    start = max(0, center - segment_length // 2)
    if start + segment_length > num_rows:
        start = num_rows - segment_length
    return start


def frame_segment_starts(positions: Sequence[int], num_positions: int,
                         num_rows: int, segment_length: int) -> List[int]:
    """:func:`frame_segment_start` of each position."""
    return [
        frame_segment_start(int(p), num_positions, num_rows, segment_length)
        for p in positions
    ]


@TRANSFORMS.register_module()
class FrameAudioSegments(BaseTransform):
    """Cut one audio segment per sampled frame from the clip's fbank.

    Frame position ``k`` of ``F`` (``frame_positions`` and
    ``num_positions`` from :class:`SampleAVFrames`) gets rows
    ``[start, start + T)`` of the clip's ``[L, 128]`` fbank
    (:func:`frame_segment_start`). With ``L = 1024``, ``T = 416``,
    ``F = 16``: ``k = 0..3`` -> ``[0, 416)``, ``k = 4..12`` -> start
    ``48 + 64 (k - 4)``, ``k = 13..15`` -> ``[608, 1024)``. ``L`` is the
    clip fbank's length (``KaldiFbank``'s ``target_length``), so shorter
    toy clips work alike. The segment follows the position asked for, also
    where the frame loader fell back to a lower JPEG (as the reference).

    Required Keys:

        - audio (torch.Tensor): the clip fbank ``[L, M]``.
        - frame_positions (np.ndarray): int64 ``[V]``.
        - num_positions (int)

    Modified Keys:

        - audio: float32 ``[V, T, M]``, segment ``v`` for frame
          ``frame_positions[v]`` (``V = 1`` for one frame: ``[1, T, M]``).

    Added Keys:

        - audio_segment_starts (np.ndarray): int64 ``[V]``, first rows.

    Args:
        segment_length (int): Rows per segment ``T`` (10 ms each; 416 =
            4.16 s in the released model). Defaults to 416.
    """

    model_input = 'audio'

    def __init__(self, segment_length: int = 416) -> None:
        if segment_length < 1:
            raise ValueError(f'segment_length must be positive, got '
                             f'{segment_length}')
        self.segment_length = segment_length

    def transform(self, results: Dict) -> Dict:
        """Cut the segments.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with ``audio`` ``[V, T, M]``.
        """
        fbank = results['audio']
        if fbank.ndim != 2:
            raise ValueError(f'FrameAudioSegments needs the clip fbank '
                             f'[L, M], got {list(fbank.shape)}')
        if 'frame_positions' not in results:
            raise KeyError('FrameAudioSegments needs frame_positions and '
                           'num_positions: put SampleAVFrames before it')
        starts = frame_segment_starts(results['frame_positions'],
                                      results['num_positions'],
                                      fbank.shape[0], self.segment_length)
        # [L, M] -> [V, T, M]
        rows = torch.as_tensor(starts)[:, None] + torch.arange(
            self.segment_length)
        results['audio'] = fbank[rows]
        results['audio_segment_starts'] = np.array(starts, dtype=np.int64)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'segment_length={self.segment_length})')
