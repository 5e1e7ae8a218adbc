"""Which model input a transform builds: ``'audio'``, ``'imgs'`` or none.

Our transforms declare it in the class attribute ``model_input`` (and the
frame loaders what they read in ``frame_source``: ``'clip'`` for a video or
pre-extracted frames, ``'image'`` for one image file). MMAction2's frame
transforms cannot carry our attribute; :data:`FRAME_TRANSFORMS` names them
here, the one place that does. A transform known to neither serves no single
input (a label transform, mixup of both, an unknown transform): the
inference pipeline runs it whatever inputs are loaded.
"""
from typing import Optional

from mmaction.datasets.transforms import (CenterCrop, ColorJitter, Flip,
                                          FormatShape, MultiScaleCrop,
                                          RandomCrop, RandomResizedCrop,
                                          Resize, TenCrop, ThreeCrop)

#: MMAction2's transforms that read and write ``results['imgs']``.
FRAME_TRANSFORMS = (CenterCrop, ColorJitter, Flip, FormatShape,
                    MultiScaleCrop, RandomCrop, RandomResizedCrop, Resize,
                    TenCrop, ThreeCrop)


def model_input_of(transform) -> Optional[str]:
    """The model input (``'audio'`` / ``'imgs'``) ``transform`` builds.

    Args:
        transform (callable): A built transform.

    Returns:
        str | None: Its declared ``model_input``; ``'imgs'`` for one of
        MMAction2's :data:`FRAME_TRANSFORMS`; else None.
    """
    declared = getattr(type(transform), 'model_input', None)
    if declared is not None:
        return declared
    if isinstance(transform, FRAME_TRANSFORMS):
        return 'imgs'
    return None


def frame_source_of(transform) -> Optional[str]:
    """``'clip'`` or ``'image'`` for a frame loader (its declared
    ``frame_source``), else None."""
    return getattr(type(transform), 'frame_source', None)
