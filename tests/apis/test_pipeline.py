"""The inference pipeline follows the config's test pipeline
(cavmae_mm/apis/pipeline.py): inference_av gives tools/test.py's scores,
a changed transform setting changes its output, only the loaders' input is
swapped, and modalities are skipped by the model input each transform
declares."""
import json
import os.path as osp
import pickle
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import cavmae_mm  # noqa: F401
from cavmae_mm.apis import (InferencePipeline, ModalityError,
                            extract_features, inference_av, init_model)
from cavmae_mm.datasets.transforms import LoadStillImage, SampleAVFrames
from cavmae_mm.engine.cpu_runtime import configure_cpu_runtime
from mmaction.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_FINETUNE = osp.join(ROOT, 'configs', 'cavmae_toy_finetune.py')
TOY_PRETRAIN = osp.join(ROOT, 'configs', 'cavmae_toy_pretrain.py')
TINY_FINETUNE = osp.join(ROOT, 'configs/_base_/models/cavmae_tiny_finetune.py')
NUM_TOY_CLASSES = 8


def set_transform(pipeline, type_name, **settings):
    """Change the settings of the ``type_name`` transform of a pipeline
    config in place."""
    steps = [t for t in pipeline if t['type'] == type_name]
    assert steps, f'no {type_name} in the pipeline'
    for step in steps:
        step.update(settings)


def toy_config(**changes):
    """The toy fine-tuning config with ``{transform: settings}`` changed in
    its test pipeline (the 10-frame evaluation pipeline)."""
    cfg = Config.fromfile(TOY_FINETUNE)
    for type_name, settings in changes.items():
        set_transform(cfg.test_dataloader.dataset.pipeline, type_name,
                      **settings)
    return cfg


@pytest.fixture(scope='module')
def toy_checkpoint(tmp_path_factory):
    """A random-init toy fine-tuning model saved as an MMEngine
    checkpoint."""
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TOY_FINETUNE).model)
    path = tmp_path_factory.mktemp('ckpt') / 'toy_ft.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), str(path))
    return str(path)


@pytest.fixture
def stereo_clip(make_clip):
    """A 4 s clip with a different tone on each audio channel and frames
    of random texture (so that the resampling filter matters)."""
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
              for _ in range(40)]
    return make_clip(name='stereo.mp4', duration=4.0, size=(64, 48),
                     channels=2, freqs=[440.0, 1900.0], frames=frames)


# ------------------------------------------------ the user's route --
def test_inference_av_gives_the_scores_of_tools_test(tmp_path, stereo_clip,
                                                     toy_checkpoint):
    """Under a config whose test pipeline reads the second audio channel
    with a 20 ms frame shift, tools/test.py --dump and inference_av score
    the clip identically (10-frame ensemble, as the config says)."""
    cfg = toy_config(LoadAudioWaveform=dict(channel=1),
                     KaldiFbank=dict(frame_shift=20.0))
    (tmp_path / 'labels.csv').write_text('index,mid,display_name\n' + ''.join(
        f'{i},/m/toy{i},toy {i}\n' for i in range(NUM_TOY_CLASSES)))
    (tmp_path / 'one_clip.json').write_text(json.dumps(dict(data=[dict(
        video_id='stereo', video=stereo_clip, labels='/m/toy3')])))
    cfg.test_dataloader.update(num_workers=0, persistent_workers=False,
                               batch_size=1)
    cfg.test_dataloader.dataset.update(
        data_root=str(tmp_path), ann_file='one_clip.json',
        label_csv='labels.csv', source='video')
    config_path = str(tmp_path / 'toy_finetune_channel1.py')
    cfg.dump(config_path)

    sys.path.insert(0, osp.join(ROOT, 'tools'))
    try:
        import test as test_tool
    finally:
        sys.path.pop(0)
    dump = str(tmp_path / 'scores.pkl')
    try:
        test_tool.main([config_path, toy_checkpoint, '--work-dir',
                        str(tmp_path / 'work'), '--dump', dump,
                        '--cfg-options', 'experiment_name=inference_parity'])
    finally:  # the tool sets the CPU fast path for its process: undo it
        configure_cpu_runtime(False)
    with open(dump, 'rb') as f:
        samples = pickle.load(f)
    assert len(samples) == 1
    assert samples[0]['video_id'] == 'stereo'
    expected = np.asarray(samples[0]['pred_scores']['item'], np.float32)

    model = init_model(config_path, toy_checkpoint)
    result = inference_av(model, stereo_clip)
    assert result['mode'] == 'multimodal' and result['missing'] == {}
    assert result['scores'].shape == (NUM_TOY_CLASSES, )
    np.testing.assert_allclose(result['scores'], expected, rtol=1e-5,
                               atol=1e-7)


@pytest.mark.parametrize('type_name,settings', [
    ('LoadAudioWaveform', dict(channel=1)),
    ('KaldiFbank', dict(frame_shift=20.0)),
    ('AVResize', dict(backend='cv2')),
    ('SampleAVFrames', dict(num_positions=5)),
])
def test_a_changed_setting_changes_inference(stereo_clip, toy_checkpoint,
                                             type_name, settings):
    default = inference_av(init_model(toy_config(), toy_checkpoint),
                           stereo_clip)
    changed = inference_av(
        init_model(toy_config(**{type_name: settings}), toy_checkpoint),
        stereo_clip)
    assert np.abs(changed['scores'] - default['scores']).max() > 1e-5


def test_changed_setting_reaches_the_model_input(stereo_clip):
    """The packed audio is what the config's transforms make: the second
    channel has the other tone."""
    default, _ = InferencePipeline.from_config(toy_config())(stereo_clip)
    changed, _ = InferencePipeline.from_config(
        toy_config(LoadAudioWaveform=dict(channel=1)))(stereo_clip)
    assert default['inputs']['audio'].shape == (384, 128)
    assert not torch.allclose(default['inputs']['audio'],
                              changed['inputs']['audio'])
    fewer, _ = InferencePipeline.from_config(
        toy_config(SampleAVFrames=dict(num_positions=5)))(stereo_clip)
    assert default['inputs']['imgs'].shape[0] == 10  # 'all' of 10
    assert fewer['inputs']['imgs'].shape[0] == 5


# --------------------------------------------- where the pipeline is --
def test_test_pipeline_key_comes_first_and_model_only_configs_fail(
        stereo_clip):
    cfg = toy_config()
    cfg.test_pipeline = [
        dict(t, mode='middle') if t['type'] == 'SampleAVFrames' else t
        for t in cfg.test_dataloader.dataset.pipeline
    ]
    data, _ = InferencePipeline.from_config(cfg)(stereo_clip)
    assert data['inputs']['imgs'].shape[0] == 1
    with pytest.raises(ValueError, match='no test pipeline'):
        InferencePipeline.from_config(Config.fromfile(TINY_FINETUNE))
    model = init_model(TINY_FINETUNE)
    with pytest.raises(ValueError, match='model-only'):
        inference_av(model, stereo_clip)
    del model.cfg
    with pytest.raises(ValueError, match='init_model'):
        extract_features(model, stereo_clip)


def test_pretraining_config_uses_its_retrieval_test_set(stereo_clip):
    pipeline = InferencePipeline.from_config(Config.fromfile(TOY_PRETRAIN))
    data, _ = pipeline(stereo_clip)
    assert data['inputs']['audio'].shape == (384, 128)
    assert data['inputs']['imgs'].shape == (1, 3, 112, 112)  # middle frame


def test_frames_sets_the_sample_mode_only(stereo_clip):
    cfg = toy_config(SampleAVFrames=dict(num_positions=5))
    pipeline = InferencePipeline.from_config(cfg, frames=3)
    samplers = [t for t, _ in pipeline.clip_steps
                if isinstance(t, SampleAVFrames)]
    assert [(t.mode, t.num_positions) for t in samplers] == [(3, 5)]
    data, _ = pipeline(stereo_clip)
    assert data['inputs']['imgs'].shape[0] == 1
    with pytest.raises(ValueError, match='not in'):
        InferencePipeline.from_config(cfg, frames=7)  # 5 positions
    with pytest.raises(ValueError, match='frames must be'):
        InferencePipeline.from_config(cfg, frames='random')
    audio_only = [t for t in cfg.test_dataloader.dataset.pipeline
                  if t['type'] not in ('SampleAVFrames', 'LoadAVFrames')]
    with pytest.raises(ValueError, match='has none'):
        InferencePipeline(audio_only, frames='middle')


# ------------------------------------------------ inputs, modalities --
def test_an_image_replaces_the_frame_loaders(tmp_path, stereo_clip):
    from PIL import Image
    image = str(tmp_path / 'frame.jpg')
    Image.fromarray(np.full((48, 64, 3), 120, np.uint8)).save(image)
    pipeline = InferencePipeline.from_config(toy_config())
    names = [type(t).__name__ for t, _ in pipeline.image_steps]
    assert names == ['LoadAudioWaveform', 'KaldiFbank', 'NormalizeFbank',
                     'LoadStillImage', 'AVResize', 'CenterCrop',
                     'FormatShape', 'PackActionInputs']
    data, missing = pipeline((stereo_clip, image))
    assert missing == {} and data['inputs']['imgs'].shape == (1, 3, 112,
                                                              112)
    assert isinstance(pipeline.image_steps[3][0], LoadStillImage)
    data, missing = pipeline((None, image))
    assert list(data['inputs']) == ['imgs']
    assert missing == {'audio': 'not given'}


def test_modalities_are_split_by_declared_model_input(make_clip):
    """A clip without audio track: the audio transforms are skipped, the
    visual ones run, PackActionInputs collects the frames only."""
    mute = make_clip(name='mute.mp4', audio=False, duration=2.0)
    pipeline = InferencePipeline.from_config(toy_config())
    data, missing = pipeline(mute)
    assert missing == {'audio': 'no audio track'}
    assert list(data['inputs']) == ['imgs']
    assert data['data_samples'].video_id == 'mute'
    with pytest.raises(ModalityError, match='no audio track'):
        pipeline(mute, allow_missing=False)
    with pytest.raises(ModalityError, match='none of the wanted'):
        pipeline(mute, modalities=('audio', ))
    only_audio, missing = pipeline(make_clip(name='both.mp4'),
                                   modalities=('audio', ))
    assert list(only_audio['inputs']) == ['audio'] and missing == {}


def test_training_transforms_in_a_test_pipeline_run(stereo_clip):
    """Not filtered: a test pipeline with FbankNoise gets noisy audio."""
    cfg = toy_config()
    steps = cfg.test_dataloader.dataset.pipeline
    plain, _ = InferencePipeline(steps)(stereo_clip, ('audio', ))
    noisy_steps = steps[:3] + [dict(type='FbankNoise')] + steps[3:]
    torch.manual_seed(0)
    noisy, _ = InferencePipeline(noisy_steps)(stereo_clip, ('audio', ))
    assert not torch.allclose(plain['inputs']['audio'],
                              noisy['inputs']['audio'])
