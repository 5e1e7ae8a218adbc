"""Tiny random-weight models (a 527-class recognizer, a pre-training
model) and an (audio, image) pair for the inference and feature tests."""
import numpy as np
import pytest
from PIL import Image

from cavmae_mm.apis import init_model
from .inference_utils import (TINY_FINETUNE, TINY_PRETRAIN,
                              save_random_checkpoint, with_eval_pipeline)


@pytest.fixture(scope='module')
def finetuned(tmp_path_factory):
    """A tiny multimodal recognizer with 527 (AudioSet) classes."""
    path = save_random_checkpoint(
        TINY_FINETUNE, tmp_path_factory.mktemp('ft') / 'ft.pth')
    return init_model(with_eval_pipeline(TINY_FINETUNE), path)


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
    path = save_random_checkpoint(
        TINY_PRETRAIN, tmp_path_factory.mktemp('pt') / 'pt.pth')
    return init_model(with_eval_pipeline(TINY_PRETRAIN), path)


@pytest.fixture
def pair(tmp_path):
    """A 16 kHz wav, a JPEG frame, and the same frame in the reference
    layout (``frames/frame_5/<id>.jpg``)."""
    import soundfile
    t = np.arange(32000) / 16000
    wav = str(tmp_path / 'clip.wav')
    soundfile.write(wav, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(
        np.float32), 16000, subtype='PCM_16')
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    jpg = str(tmp_path / 'frame.jpg')
    Image.fromarray(image).save(jpg)
    (tmp_path / 'frames' / 'frame_5').mkdir(parents=True)
    Image.fromarray(image).save(tmp_path / 'frames' / 'frame_5' / 'clip.jpg')
    return wav, jpg, str(tmp_path / 'frames')
