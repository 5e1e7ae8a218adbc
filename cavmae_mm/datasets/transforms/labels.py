"""Label transforms: label smoothing the reference's way."""
from typing import TYPE_CHECKING, Dict, Union

import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS

if TYPE_CHECKING:
    import torch


def label_to_vector(label: Union[int, np.ndarray, 'torch.Tensor'],
                    num_classes: int) -> np.ndarray:
    """A class index (or an existing target vector) as a float32
    ``[num_classes]`` vector."""
    if np.ndim(label) == 0:
        vector = np.zeros(num_classes, dtype=np.float32)
        if int(label) >= 0:  # -1: unlabelled
            vector[int(label)] = 1.0
        return vector
    vector = np.asarray(label, dtype=np.float32)
    if vector.shape != (num_classes, ):
        raise ValueError(f'label vector of shape {vector.shape}, expected '
                         f'({num_classes},)')
    return vector


@TRANSFORMS.register_module()
class LabelSmoothing(BaseTransform):
    """Label smoothing as the reference data loader does it.

    Without mixup: every class gets ``eps / num_classes``, the positive
    classes are set to ``1 - eps``. After :class:`AVMixup` (``mixup_lambda``
    present): ``eps / num_classes + (1 - eps) * mixed_label``, i.e. each clip
    adds ``lambda * (1 - eps)`` (resp. ``(1 - lambda) * (1 - eps)``) to its
    classes. The model's head then uses ``label_smooth_eps=0``.

    Required Keys:

        - label (int | np.ndarray): class index or ``[num_classes]`` vector.
        - num_classes (int)
        - mixup_lambda (float, optional)

    Modified Keys:

        - label: float32 ``[num_classes]``.

    Args:
        eps (float): Smoothing. Defaults to 0.1.
    """

    model_input = None  # the label, not a model input

    def __init__(self, eps: float = 0.1) -> None:
        self.eps = eps

    def transform(self, results: Dict) -> Dict:
        """Smooth the label.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with a smoothed ``label`` vector.
        """
        num_classes = results['num_classes']
        label = label_to_vector(results['label'], num_classes)
        if 'mixup_lambda' in results:
            target = self.eps / num_classes + (1.0 - self.eps) * label.astype(
                np.float64)
        else:
            target = np.zeros(num_classes) + self.eps / num_classes
            target[label > 0] = 1.0 - self.eps
        results['label'] = target.astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(eps={self.eps})'
