"""InitInfoAtDebugMixin: MMEngine's per-parameter initialization report of
our top-level models, one DEBUG record instead of 3 lines per parameter in
the log file."""
import uuid

import pytest
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

import cavmae_mm  # noqa: F401
from cavmae_mm.models.algorithms.av_embedding_model import AVEmbeddingModel
from cavmae_mm.models.utils.init_log import InitInfoAtDebugMixin
from mmaction.registry import MODELS


@pytest.mark.parametrize('name', ['cavmae_tiny_pretrain',
                                  'cavmae_tiny_finetune'])
@pytest.mark.parametrize('level', ['INFO', 'DEBUG'])
def test_the_report_is_one_debug_record(tmp_path, name, level):
    log_file = tmp_path / 'run.log'
    MMLogger.get_instance(f'init_log_{uuid.uuid4().hex}',
                          log_file=str(log_file), log_level=level)
    init_default_scope('mmaction')
    model = MODELS.build(
        Config.fromfile(f'configs/_base_/models/{name}.py').model)
    model.init_weights()
    log = log_file.read_text()
    assert 'Initialization information' not in log  # MMEngine's own
    assert 'torch.Size' not in log
    if level == 'INFO':
        assert 'backbone.pos_embed_a' not in log
    else:
        assert log.count('Initialization of each parameter:\n') == 1
        assert 'backbone.pos_embed_a - (1, ' in log


def test_every_top_level_model_has_it():
    assert issubclass(AVEmbeddingModel, InitInfoAtDebugMixin)
