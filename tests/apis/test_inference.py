"""cavmae_mm/apis/inference.py: init_model (config → ready model,
checkpoint loaded strictly) and inference_av on the real sample clips,
generated clips and (audio, image) pairs, with tiny random-weight models
and the full-size evaluation pipeline as their test pipeline."""
import csv
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope, init_default_scope

from cavmae_mm.apis import ModalityError, inference_av, init_model
from cavmae_mm.datasets import AVDataError
from cavmae_mm.models.algorithms.cavmae import CAVMAE
from cavmae_mm.models.recognizers.av_recognizer import CAVMAERecognizer
from cavmae_mm.utils import CheckpointMismatchError
from cavmae_mm.utils import mmengine_to_official
from .inference_utils import CLIPS, toy_eval_pipeline_for

TINY_FINETUNE = 'configs/_base_/models/cavmae_tiny_finetune.py'
TINY_PRETRAIN = 'configs/_base_/models/cavmae_tiny_pretrain.py'


def randomized_state(model, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {key: torch.randn(value.shape, generator=gen)
            for key, value in model.state_dict().items()}


def save(state_dict, path, **meta):
    torch.save({'state_dict': state_dict, 'meta': meta}, path)
    return str(path)


def test_without_checkpoint_builds_initialized_eval_model():
    model = init_model(TINY_FINETUNE)
    assert isinstance(model, CAVMAERecognizer)
    assert not model.training
    assert not any(module.training for module in model.modules())
    assert isinstance(model.cfg, Config)
    assert model.cfg.model.type == 'CAVMAERecognizer'
    assert all(p.device.type == 'cpu' for p in model.parameters())
    # init_weights ran: modality embeddings drawn from normal(0.02)
    assert model.backbone.modality_a.abs().sum() > 0
    assert DefaultScope.get_current_instance().scope_name == 'mmaction'
    with torch.no_grad():
        logits = model(dict(audio=torch.randn(2, 1024, 128),
                            imgs=torch.randn(2, 1, 3, 224, 224)),
                       mode='tensor', stage='head')
    assert logits.shape == (2, 527)


def test_loads_checkpoint_exactly(tmp_path):
    cfg = Config.fromfile(TINY_FINETUNE)
    cfg.default_scope = 'mmaction'
    options = {'model.cls_head.num_classes': 7}
    state = randomized_state(init_model(cfg, cfg_options=options))
    path = save(state, tmp_path / 'ft.pth',
                dataset_meta=dict(classes=list('abcdefg')))

    model = init_model(cfg, path, cfg_options=options)
    assert model.cls_head.fc_cls.out_features == 7
    assert cfg.model.cls_head.num_classes == 527  # caller's config untouched
    assert model.cfg.model.cls_head.num_classes == 7
    assert model.dataset_meta == dict(classes=list('abcdefg'))
    assert not model.training
    loaded = model.state_dict()
    assert set(loaded) == set(state)
    for key, value in state.items():
        assert torch.equal(loaded[key], value), key


def test_plain_state_dict_file_and_pretrain_model(tmp_path):
    model = init_model(TINY_PRETRAIN)
    assert isinstance(model, CAVMAE)
    state = randomized_state(model)
    torch.save(state, tmp_path / 'raw.pth')
    loaded = init_model(TINY_PRETRAIN, str(tmp_path / 'raw.pth'))
    for key, value in state.items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_wrong_kind_lists_missing_and_unexpected_keys(tmp_path):
    path = save(init_model(TINY_PRETRAIN).state_dict(),
                tmp_path / 'pretrain.pth')
    with pytest.raises(CheckpointMismatchError) as info:
        init_model(TINY_FINETUNE, path)
    report = info.value.report
    assert report.missing == sorted(
        f'cls_head.{m}.{p}' for m in ('fc_cls', 'norm')
        for p in ('bias', 'weight'))
    assert report.unexpected and all(
        k.startswith('neck.') for k in report.unexpected)
    message = str(info.value)
    assert 'pretrain.pth' in message
    assert 'cls_head.fc_cls.weight' in message
    assert 'neck.decoder_blocks.0.attn.qkv.weight' in message
    assert 'pre-training checkpoint' in message  # the hint


def test_wrong_size_lists_shape_mismatches(tmp_path):
    state = init_model(TINY_FINETUNE, cfg_options={
        'model.cls_head.num_classes': 7}).state_dict()
    path = save(state, tmp_path / 'ft7.pth')
    with pytest.raises(CheckpointMismatchError) as info:
        init_model(TINY_FINETUNE, path)
    assert info.value.report.shape_mismatched == [
        ('cls_head.fc_cls.bias', (7, ), (527, )),
        ('cls_head.fc_cls.weight', (7, 64), (527, 64)),
    ]
    assert 'cls_head.fc_cls.weight: checkpoint [7, 64] vs model [527, 64]' \
        in str(info.value)


def test_audio_length_difference_is_adapted_not_a_mismatch(tmp_path):
    """The backbone adapts a position embedding saved for 1024 frames."""
    state = init_model(TINY_FINETUNE).state_dict()
    path = save(state, tmp_path / 'ft.pth')
    model = init_model(TINY_FINETUNE, path,
                       cfg_options={'model.backbone.audio_length': 512})
    assert model.backbone.pos_embed_a.shape == (1, 8 * 32, 64)


def test_reference_checkpoint_gets_a_conversion_hint(tmp_path):
    official = mmengine_to_official(init_model(TINY_FINETUNE).state_dict())
    torch.save(official, tmp_path / 'official.pth')
    with pytest.raises(CheckpointMismatchError,
                       match='convert_official_ckpt.py'):
        init_model(TINY_FINETUNE, str(tmp_path / 'official.pth'))


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        init_model(TINY_FINETUNE, str(tmp_path / 'missing.pth'))
    with pytest.raises(TypeError, match='Config'):
        init_model(dict(model=dict()))


# -------------------------------------------------------- inference_av --
@pytest.fixture(scope='module')
def audioset_names(samples_dir):
    with open(samples_dir / 'class_labels_indices_as.csv', newline='') as f:
        return [row['display_name'] for row in csv.DictReader(f)]


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
