"""Frame processing: the reference's resize (crop is MMAction2's
``CenterCrop``, normalization the data preprocessor's)."""
from typing import Dict, Sequence

import mmcv
import numpy as np

from mmaction.datasets.transforms import Resize
from mmaction.registry import TRANSFORMS


@TRANSFORMS.register_module()
class AVResize(Resize):
    """MMAction2's ``Resize`` with the reference's resampling: short side to
    ``scale[1]`` and the long side to ``int(short * long / short_in)`` (as
    torchvision's ``Resize(224)``), interpolated by PIL (bicubic,
    antialiased when shrinking). A frame already at the size is untouched,
    so pre-extracted 224 x 224 JPEGs pass through unchanged.

    Required Keys:

        - imgs (list[np.ndarray]): ``[H, W, 3]``.
        - img_shape

    Modified Keys:

        - imgs, img_shape

    Added Keys:

        - keep_ratio, scale_factor

    Args:
        scale (tuple[int, int] | float): As MMAction2's ``Resize``;
            ``(-1, 224)`` resizes the short side to 224.
            Defaults to ``(-1, 224)``.
        keep_ratio (bool): Defaults to True.
        interpolation (str): Defaults to ``'bicubic'``.
        backend (str): ``'pillow'`` (the reference) or ``'cv2'`` (faster,
            not antialiased). Defaults to ``'pillow'``.
    """

    model_input = 'imgs'

    def __init__(self,
                 scale: Sequence[int] = (-1, 224),
                 keep_ratio: bool = True,
                 interpolation: str = 'bicubic',
                 backend: str = 'pillow') -> None:
        scale = tuple(scale) if isinstance(scale, list) else scale
        super().__init__(
            scale, keep_ratio=keep_ratio, interpolation=interpolation)
        self.backend = backend
        self.short_side = None
        if keep_ratio and isinstance(scale, tuple) and min(scale) == -1:
            self.short_side = int(max(scale))

    def _resize_imgs(self, imgs, new_w, new_h):
        """Resize each frame unless it already has the size."""
        return [
            img if img.shape[:2] == (new_h, new_w) else mmcv.imresize(
                img, (new_w, new_h),
                interpolation=self.interpolation,
                backend=self.backend) for img in imgs
        ]

    def transform(self, results: Dict) -> Dict:
        """Resize the frames.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with resized ``imgs``.
        """
        if self.short_side is None:
            return super().transform(results)
        img_h, img_w = results['img_shape']
        short_in, long_in = min(img_h, img_w), max(img_h, img_w)
        new_short = self.short_side
        new_long = int(new_short * long_in / short_in)
        new_w, new_h = ((new_short, new_long) if img_w <= img_h else
                        (new_long, new_short))
        scale_factor = np.array([new_w / img_w, new_h / img_h],
                                dtype=np.float32)
        results['scale_factor'] = results.get(
            'scale_factor', np.ones(2, dtype=np.float32)) * scale_factor
        results['img_shape'] = (new_h, new_w)
        results['keep_ratio'] = True
        results['imgs'] = self._resize_imgs(results['imgs'], new_w, new_h)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, '
                f'keep_ratio={self.keep_ratio}, '
                f'interpolation={self.interpolation}, '
                f'backend={self.backend})')
