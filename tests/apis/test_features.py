"""extract_features (cavmae_mm/apis/features.py) on the real sample clips,
generated clips and (audio, image) pairs, with tiny random-weight models
and the full-size evaluation pipeline as their test pipeline."""
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from cavmae_mm.apis import (AVEmbeddingModel, InferencePipeline,
                            ModalityError, extract_features)
from .inference_utils import CLIPS, toy_eval_pipeline_for


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
