"""Audio-visual mixup of two clips, the reference's way."""
from typing import Dict, List, Optional

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS
from ..sample_rng import sample_python_random, sample_random_state
from .labels import label_to_vector


@TRANSFORMS.register_module()
class AVMixup(BaseTransform):
    """Mix two clips: waveforms before the fbank, frames and labels, all
    with the same ``lambda ~ Beta(alpha, alpha)``.

    The second clip comes from :class:`~cavmae_mm.datasets.AudioVisualDataset`:
    before running this transform it calls :meth:`get_indexes` and, when a
    partner is drawn, runs the transforms before this one on the partner and
    passes the result as ``mix_results`` (the ``MultiImageMixDataset``
    convention of MMDetection). Put ``AVMixup`` after frame loading, resize
    and crop, and before ``KaldiFbank``.

    Waveforms (SPEC §2): both are mean-subtracted, the partner is zero-padded
    or cut to the first clip's length, mixed ``lambda * w1 + (1 - lambda) *
    w2``; ``KaldiFbank`` then subtracts the mix's mean (the reference's
    re-centering), so the pair reproduces the reference exactly. Unlike the
    reference, the partner's frame is its own (the reference reads it from
    the first clip's folder).

    Every sample that passes this transform leaves with ``imgs`` as float32
    (the mix of two uint8 frames is not an integer; the data preprocessor
    normalizes both alike) and ``label`` as a float32 ``[num_classes]``
    vector, mixed or not, so a batch stacks.

    Required Keys:

        - waveform (np.ndarray | torch.Tensor): ``[N]``.
        - label (int | np.ndarray)
        - num_classes (int)
        - imgs (list[np.ndarray] | np.ndarray, optional)
        - mix_results (list[dict], optional): the partner, see above.

    Modified Keys:

        - waveform, imgs, label

    Added Keys:

        - mixup_lambda (float): only when mixed.
        - mix_video_id (str): only when mixed.

    Args:
        prob (float): Probability to mix a sample (0.5 in fine-tuning).
            Defaults to 0.5.
        alpha (float): Beta distribution parameter. Defaults to 10.
    """

    # Mixes both inputs and the label: serves no single model input.
    model_input = None

    def __init__(self, prob: float = 0.5, alpha: float = 10.0) -> None:
        self.prob = prob
        self.alpha = alpha

    def get_indexes(self, dataset,
                    results: Optional[Dict] = None) -> List[int]:
        """Draw the partner's index (or none) for the next sample, from its
        random stream ``'mixup'`` (see :mod:`..sample_rng`).

        Args:
            dataset: The dataset to draw from.
            results (dict, optional): The sample's results so far.

        Returns:
            list[int]: ``[]`` (no mixup this time) or one index.
        """
        rng = sample_python_random(results, 'mixup')
        if rng.random() < self.prob:
            return [rng.randint(0, len(dataset) - 1)]
        return []

    @staticmethod
    def _as_float_imgs(imgs):
        if isinstance(imgs, np.ndarray):
            return imgs.astype(np.float32)
        return [np.asarray(img, dtype=np.float32) for img in imgs]

    def transform(self, results: Dict) -> Dict:
        """Mix with the partner if one was drawn.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict, mixed or not.
        """
        partners = results.pop('mix_results', None) or []
        num_classes = results['num_classes']
        label = label_to_vector(results['label'], num_classes)
        if 'imgs' in results:
            results['imgs'] = self._as_float_imgs(results['imgs'])
        if partners:
            partner = partners[0]
            mix_lambda = sample_random_state(results, 'mixup_ratio').beta(
                self.alpha, self.alpha)
            results['waveform'] = self._mix_waveforms(
                results['waveform'], partner['waveform'], mix_lambda)
            if 'imgs' in results:
                partner_imgs = self._as_float_imgs(partner['imgs'])
                if len(partner_imgs) != len(results['imgs']):
                    raise ValueError('mixup partners with different numbers '
                                     'of frames')
                results['imgs'] = [
                    mix_lambda * img + (1 - mix_lambda) * other
                    for img, other in zip(results['imgs'], partner_imgs)
                ]
                if isinstance(partner['imgs'], np.ndarray):
                    results['imgs'] = np.stack(results['imgs'])
            partner_label = label_to_vector(partner['label'], num_classes)
            label = mix_lambda * label.astype(np.float64) + (
                1 - mix_lambda) * partner_label.astype(np.float64)
            results['mixup_lambda'] = float(mix_lambda)
            results['mix_video_id'] = partner.get('video_id')
        results['label'] = np.asarray(label, dtype=np.float32)
        return results

    @staticmethod
    def _mix_waveforms(waveform, partner, mix_lambda: float) -> torch.Tensor:
        """``lambda * w1 + (1 - lambda) * w2`` of the centered waveforms,
        the partner padded/cut to ``len(w1)`` (``[N]`` -> ``[1, N]``)."""
        waveform = torch.as_tensor(waveform).reshape(1, -1)
        partner = torch.as_tensor(partner).reshape(1, -1)
        waveform = waveform - waveform.mean()
        partner = partner - partner.mean()
        length = waveform.shape[1]
        if partner.shape[1] < length:
            partner = torch.nn.functional.pad(
                partner, (0, length - partner.shape[1]))
        else:
            partner = partner[:, :length]
        return mix_lambda * waveform + (1 - mix_lambda) * partner

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'alpha={self.alpha})')
