"""model_input_of / frame_source_of
(cavmae_mm/datasets/transforms/model_inputs.py): the model input each
transform builds."""
import pytest

from cavmae_mm.datasets.transforms import (AVResize, LoadAVFrames,
                                           LoadStillImage)
from cavmae_mm.datasets.transforms.model_inputs import (frame_source_of,
                                                        model_input_of)
from mmaction.registry import TRANSFORMS

pytestmark = pytest.mark.usefixtures('mmaction_scope')


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
