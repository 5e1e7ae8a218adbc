"""LoadStillImage (cavmae_mm/datasets/transforms/loading.py): one image as
a one-frame clip, decoded as pre-extracted frames are."""
import numpy as np
import pytest
from PIL import Image

from cavmae_mm.datasets import AVDataError
from cavmae_mm.datasets.av_io import frame_jpeg_path
from cavmae_mm.datasets.transforms import (AVResize, LoadAVFrames,
                                           LoadStillImage)
from cavmae_mm.datasets.transforms.model_inputs import (frame_source_of,
                                                        model_input_of)
from mmaction.registry import TRANSFORMS

pytestmark = pytest.mark.usefixtures('mmaction_scope')


def exif_rotated_jpeg(path, orientation=6):
    """A 40 x 80 landscape JPEG (left half white) whose EXIF orientation
    says to turn it 90 degrees clockwise for viewing."""
    pixels = np.zeros((40, 80, 3), np.uint8)
    pixels[:, :40] = 255
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels).save(path, exif=exif, quality=95)
    return str(path)


def test_load_still_image_keys_and_repr(tmp_path):
    path = str(tmp_path / 'frame.png')
    pixels = np.random.default_rng(0).integers(0, 255, (30, 50, 3),
                                               dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    transform = TRANSFORMS.build(dict(type='LoadStillImage'))
    assert isinstance(transform, LoadStillImage)
    results = transform(dict(image_path=path))
    assert len(results['imgs']) == 1
    np.testing.assert_array_equal(results['imgs'][0], pixels)
    assert results['img_shape'] == results['original_shape'] == (30, 50)
    assert results['frame_inds'].tolist() == [0]
    assert results['num_clips'] == 1 and results['clip_len'] == 1
    assert repr(transform) == 'LoadStillImage()'
    with pytest.raises(AVDataError, match='file not found'):
        transform(dict(image_path=str(tmp_path / 'none.jpg')))
    with pytest.raises(KeyError):
        transform(dict())


def test_still_image_and_extracted_frame_decode_alike(tmp_path):
    """One decoder for images: an EXIF-rotated JPEG comes out upright,
    the same from LoadStillImage and from the reference frame layout."""
    (tmp_path / 'frame_5').mkdir()
    layout_path = exif_rotated_jpeg(frame_jpeg_path(str(tmp_path), 'v', 5))
    still = LoadStillImage()(dict(image_path=layout_path))
    frames = LoadAVFrames()(dict(frame_dir=str(tmp_path), video_id='v',
                                 frame_positions=np.array([5])))
    assert still['img_shape'] == frames['img_shape'] == (80, 40)
    np.testing.assert_array_equal(still['imgs'][0], frames['imgs'][0])
    assert still['imgs'][0][:35].mean() > 200  # white half on top


def test_transforms_declare_their_model_input():
    assert model_input_of(LoadStillImage()) == 'imgs'
    assert frame_source_of(LoadStillImage()) == 'image'
    assert frame_source_of(LoadAVFrames()) == 'clip'
    assert model_input_of(AVResize()) == 'imgs'
    built = {
        cfg['type']: TRANSFORMS.build(cfg)
        for cfg in (dict(type='LoadAudioWaveform'), dict(type='KaldiFbank'),
                    dict(type='NormalizeFbank'), dict(type='SpecAugment'),
                    dict(type='FbankNoise'), dict(type='SampleAVFrames'),
                    dict(type='CenterCrop', crop_size=224),
                    dict(type='FormatShape', input_format='NCHW'),
                    dict(type='AVMixup'), dict(type='LabelSmoothing'),
                    dict(type='PackActionInputs'))
    }
    assert {name: model_input_of(t) for name, t in built.items()} == dict(
        LoadAudioWaveform='audio', KaldiFbank='audio',
        NormalizeFbank='audio', SpecAugment='audio', FbankNoise='audio',
        SampleAVFrames='imgs', CenterCrop='imgs', FormatShape='imgs',
        AVMixup=None, LabelSmoothing=None, PackActionInputs=None)
