"""AVResize (cavmae_mm/datasets/transforms/processing.py): the reference's
``T.Resize(224, interpolation=BICUBIC)``."""
import numpy as np
import pytest

from cavmae_mm.datasets.transforms import AVResize

pytestmark = pytest.mark.usefixtures('mmaction_scope')


@pytest.mark.parametrize('size', [(320, 240), (640, 360), (240, 320),
                                  (256, 144), (1280, 720), (299, 224)])
def test_av_resize_matches_torchvision(size):
    """Same output size rule and pixels as the reference's
    ``T.Resize(224, interpolation=BICUBIC)`` on a PIL image."""
    import PIL
    import torchvision.transforms as T
    from PIL import Image
    width, height = size
    image = np.random.default_rng(0).integers(
        0, 256, (height, width, 3), dtype=np.uint8)
    results = AVResize(scale=(-1, 224))(
        dict(imgs=[image], img_shape=(height, width)))
    expected = np.asarray(
        T.Resize(224, interpolation=PIL.Image.BICUBIC)(
            Image.fromarray(image)))
    assert results['img_shape'] == expected.shape[:2]
    np.testing.assert_array_equal(results['imgs'][0], expected)


def test_av_resize_leaves_224_frames_alone_and_crop():
    from mmaction.registry import TRANSFORMS
    image = np.zeros((224, 224, 3), np.uint8)
    results = AVResize()(dict(imgs=[image], img_shape=(224, 224)))
    assert results['imgs'][0] is image
    results = AVResize()(dict(imgs=[np.zeros((360, 640, 3), np.uint8)],
                              img_shape=(360, 640)))
    results = TRANSFORMS.build(dict(type='CenterCrop', crop_size=224))(
        results)
    assert results['imgs'][0].shape == (224, 224, 3)
    assert 'backend=pillow' in repr(AVResize())
