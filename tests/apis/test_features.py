"""inference_av / extract_features on the real sample clips, generated
clips and (audio, image) pairs, with tiny random-weight models and the
full-size evaluation pipeline as their test pipeline."""
import csv
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from PIL import Image

import cavmae_mm  # noqa: F401
from cavmae_mm.apis import (AVEmbeddingModel, InferencePipeline,
                            ModalityError, extract_features, inference_av,
                            init_model)
from cavmae_mm.datasets import AVDataError
from mmaction.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_FINETUNE = osp.join(ROOT, 'configs/_base_/models/cavmae_tiny_finetune.py')
TINY_PRETRAIN = osp.join(ROOT, 'configs/_base_/models/cavmae_tiny_pretrain.py')
TOY_DATA = osp.join(ROOT, 'configs/_base_/datasets/toy_av.py')
AV_PIPELINES = osp.join(ROOT, 'configs/_base_/datasets/av_pipelines.py')
CLIPS = ('00W1lcxW-WU_40.000.mp4', 'KlsG1EnBEjc_000361.mp4')


def with_eval_pipeline(model_config):
    """A model-only config with the full-size evaluation pipeline (middle
    frame) as its ``test_pipeline``, which inference builds from."""
    cfg = Config.fromfile(model_config)
    cfg.test_pipeline = Config.fromfile(AV_PIPELINES).eval_pipeline
    return cfg


def toy_eval_pipeline_for(model):
    """The toy data set's eval pipeline sized to ``model`` (the toy set
    itself is sized for the CPU demo): built independently of the API."""
    pipeline = Config.fromfile(TOY_DATA).eval_pipeline
    size = model.backbone.img_size
    for step in pipeline:
        if step['type'] == 'KaldiFbank':
            step['target_length'] = model.backbone.audio_length
        elif step['type'] == 'AVResize':
            step['scale'] = (-1, size)
        elif step['type'] == 'CenterCrop':
            step['crop_size'] = size
    return Compose(pipeline)


def save_random_checkpoint(config, path, seed=0, cfg_options=None, **meta):
    """Build ``config``'s model with seeded random weights and save it as an
    MMEngine checkpoint (``meta`` e.g. ``dataset_meta=...``)."""
    init_default_scope('mmaction')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    torch.save(dict(state_dict=model.state_dict(), meta=meta), str(path))
    return str(path)


@pytest.fixture(scope='module')
def audioset_names(samples_dir):
    with open(samples_dir / 'class_labels_indices_as.csv', newline='') as f:
        return [row['display_name'] for row in csv.DictReader(f)]


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


# ----------------------------------------------------------- inference --
@pytest.mark.parametrize('name', CLIPS)
def test_real_clip_top_k_audioset_names(samples_dir, finetuned,
                                        audioset_names, name):
    result = inference_av(finetuned, samples_dir / name, topk=5,
                          labels=str(samples_dir /
                                     'class_labels_indices_as.csv'))
    assert result['video_id'] == osp.splitext(name)[0]
    assert result['mode'] == 'multimodal' and result['missing'] == {}
    assert result['note'] == ''
    scores = result['scores']
    assert scores.shape == (527, ) and scores.dtype == np.float32
    assert np.all((scores >= 0) & (scores <= 1))
    assert result['score_type'] == 'sigmoid'  # multi-label AudioSet head
    top = result['topk']
    assert len(top) == 5
    assert [t['score'] for t in top] == sorted(
        [t['score'] for t in top], reverse=True)
    assert top[0]['score'] == pytest.approx(float(scores.max()))
    for entry in top:
        assert entry['label'] == audioset_names[entry['index']]
        assert entry['score'] == pytest.approx(float(
            scores[entry['index']]))
    assert finetuned.mode == 'multimodal'


def test_same_inputs_as_the_config_eval_pipeline(samples_dir, finetuned):
    """Inference feeds the model what the data set's eval pipeline feeds
    it (raw video source), so the scores are identical."""
    init_default_scope('mmaction')
    eval_pipeline = toy_eval_pipeline_for(finetuned)
    path = str(samples_dir / CLIPS[0])
    data = eval_pipeline(dict(filename=path, video_id='x'))
    with torch.no_grad():
        expected = finetuned.test_step(pseudo_collate([data]))[0]
    result = inference_av(finetuned, path)
    np.testing.assert_allclose(result['scores'],
                               expected.pred_scores.item.numpy(), rtol=1e-6)


def test_ten_frame_ensemble(samples_dir, finetuned):
    single = inference_av(finetuned, samples_dir / CLIPS[0])
    ensemble = inference_av(finetuned, samples_dir / CLIPS[0], frames='all')
    assert ensemble['scores'].shape == (527, )
    assert not np.allclose(single['scores'], ensemble['scores'])
    assert np.all((ensemble['scores'] >= 0) & (ensemble['scores'] <= 1))


def test_video_without_audio_uses_the_video_only_path(make_clip, finetuned):
    path = make_clip(name='silent_film.mp4', audio=False, size=(96, 64))
    result = inference_av(finetuned, path, topk=3)
    assert result['mode'] == 'missingvideoonly'
    assert result['missing'] == {'audio': 'no audio track'}
    assert 'missingvideoonly' in result['note']
    assert 'no audio' in result['note']
    assert finetuned.mode == 'multimodal'  # restored
    # the same as running the recognizer in that mode on the frame alone
    direct = inference_av(finetuned, path, mode='missingvideoonly')
    np.testing.assert_allclose(result['scores'], direct['scores'])
    with pytest.raises(ModalityError, match='no audio track'):
        inference_av(finetuned, path, allow_missing=False)
    with pytest.raises(ModalityError, match="mode 'audioonly' needs"):
        inference_av(finetuned, path, mode='audioonly')


def test_pairs_and_reference_layout(pair, finetuned):
    wav, jpg, frame_dir = pair
    from_pair = inference_av(finetuned, (wav, jpg))
    assert from_pair['mode'] == 'multimodal'
    from_layout = inference_av(
        finetuned, dict(audio_path=wav, frame_dir=frame_dir, video_id='clip'))
    np.testing.assert_allclose(from_pair['scores'], from_layout['scores'],
                               rtol=1e-6)
    audio_only = inference_av(finetuned, (wav, None))
    assert audio_only['mode'] == 'missingaudioonly'
    assert audio_only['missing'] == {'imgs': 'not given'}
    frame_only = inference_av(finetuned, (None, jpg))
    assert frame_only['mode'] == 'missingvideoonly'


def test_label_sources(tmp_path, pair, finetuned):
    wav, jpg, _ = pair
    assert inference_av(finetuned, (wav, jpg), topk=1)['topk'][0][
        'label'].startswith('class_')
    names = [f'event {i}' for i in range(527)]
    finetuned.dataset_meta = dict(classes=names)
    try:
        top = inference_av(finetuned, (wav, jpg), topk=2)['topk']
        assert [t['label'] for t in top] == [names[t['index']] for t in top]
    finally:
        del finetuned.dataset_meta
    short_csv = tmp_path / 'labels.csv'
    short_csv.write_text('index,mid,display_name\n0,/m/a,A\n1,/m/b,B\n')
    with pytest.raises(ValueError, match='2 classes but the model predicts '
                       '527'):
        inference_av(finetuned, (wav, jpg), labels=str(short_csv))
    with pytest.raises(FileNotFoundError, match='label file not found'):
        inference_av(finetuned, (wav, jpg), labels=str(tmp_path / 'no.csv'))


def test_pretraining_model_refuses_classification(pretrained, pair):
    with pytest.raises(ValueError, match='pre-training model without a '
                       'classification head'):
        inference_av(pretrained, pair[:2])


def test_bad_inputs(tmp_path, finetuned, pair):
    with pytest.raises(FileNotFoundError, match='video file not found'):
        inference_av(finetuned, tmp_path / 'missing.mp4')
    with pytest.raises(FileNotFoundError, match='directory'):
        inference_av(finetuned, tmp_path)
    with pytest.raises(FileNotFoundError, match='image file not found'):
        inference_av(finetuned, (pair[0], str(tmp_path / 'none.jpg')))
    with pytest.raises(ValueError, match='empty'):
        inference_av(finetuned, (None, None))
    with pytest.raises(TypeError, match='expected a video path'):
        inference_av(finetuned, 3)
    garbage = tmp_path / 'garbage.mp4'
    garbage.write_bytes(b'not a video at all' * 100)
    with pytest.raises(AVDataError, match='garbage.mp4'):
        inference_av(finetuned, garbage)
    not_image = tmp_path / 'not_image.jpg'
    not_image.write_bytes(b'xx' * 100)
    with pytest.raises(AVDataError, match='cannot decode image'):
        inference_av(finetuned, (pair[0], str(not_image)))


# ------------------------------------------------------------ features --
def test_extract_features_pretrained_real_clip(samples_dir, pretrained):
    path = samples_dir / CLIPS[1]
    features = extract_features(pretrained, path, with_tokens=True)
    dim = pretrained.backbone.embed_dims
    assert features['audio'].shape == (dim, )
    assert features['visual'].shape == (dim, )
    assert features['audio_tokens'].shape == (512, dim)
    assert features['visual_tokens'].shape == (1, 196, dim)
    for name in ('audio', 'visual'):
        assert torch.linalg.norm(features[name]).item() == pytest.approx(
            1, abs=1e-5)
    # pooled = normalized mean of the tokens
    torch.testing.assert_close(
        features['audio'],
        torch.nn.functional.normalize(features['audio_tokens'].mean(0),
                                      dim=0))
    # and the model's own retrieval embeddings (CAVMAE.extract_embeddings)
    init_default_scope('mmaction')
    data = toy_eval_pipeline_for(pretrained)(
        dict(filename=str(path), video_id='x'))
    batch = pretrained.data_preprocessor(pseudo_collate([data]), False)
    with torch.no_grad():
        own = pretrained.extract_embeddings(batch['inputs'])
    torch.testing.assert_close(features['audio'], own['audio'][0])
    torch.testing.assert_close(features['visual'], own['visual'][0])
    without_tokens = extract_features(pretrained, path)
    assert set(without_tokens) == {'video_id', 'missing', 'audio', 'visual'}
    torch.testing.assert_close(without_tokens['visual'], features['visual'])


def test_extract_features_recognizer_frames_and_missing_audio(
        samples_dir, finetuned, make_clip):
    features = extract_features(finetuned, samples_dir / CLIPS[0],
                                with_tokens=True, frames='all')
    assert features['visual_tokens'].shape[:2] == (10, 196)
    assert torch.linalg.norm(features['visual']).item() == pytest.approx(1)
    path = make_clip(name='mute.mp4', audio=False)
    mute = extract_features(finetuned, path)
    assert mute['missing'] == {'audio': 'no audio track'}
    assert 'audio' not in mute and mute['visual'].shape == (64, )
    with pytest.raises(ModalityError):
        extract_features(finetuned, path, allow_missing=False)


def test_embedding_wrapper_stores_retrieval_features(pair, finetuned):
    wav, jpg, _ = pair
    loader_features = extract_features(finetuned, (wav, jpg))
    data, _ = InferencePipeline.of_model(finetuned)((wav, jpg))
    wrapper = AVEmbeddingModel(finetuned)
    with torch.no_grad():
        sample = wrapper.test_step(pseudo_collate([data]))[0]
    torch.testing.assert_close(sample.audio_feature,
                               loader_features['audio'])
    torch.testing.assert_close(sample.visual_feature,
                               loader_features['visual'])
