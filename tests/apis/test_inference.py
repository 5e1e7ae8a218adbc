"""init_model: config → ready model, checkpoint loaded strictly."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from cavmae_mm.apis import init_model
from cavmae_mm.models.algorithms.cavmae import CAVMAE
from cavmae_mm.models.recognizers.av_recognizer import CAVMAERecognizer
from cavmae_mm.utils import CheckpointMismatchError
from cavmae_mm.utils import mmengine_to_official

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
