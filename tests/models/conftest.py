import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import cavmae_mm  # noqa: F401
from mmaction.registry import MODELS

CONFIGS = 'configs/_base_/models'


def build(name, **overrides):
    """Build a model from configs/_base_/models/<name>.py with overrides of
    ``model`` (merged like --cfg-options)."""
    init_default_scope('mmaction')
    cfg = Config.fromfile(f'{CONFIGS}/{name}.py')
    cfg.merge_from_dict({f'model.{k}': v for k, v in overrides.items()})
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def randomize_(model, seed=0):
    """Give every parameter (norms, embeddings included) random values, so
    that a wrong norm or embedding choice changes the output."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if 'pos_embed' in name:
                continue
            if param.ndim == 1 and 'norm' in name and name.endswith(
                    'weight'):
                param.copy_(
                    1 + 0.2 * torch.randn(param.shape, generator=gen))
            else:
                param.copy_(0.05 * torch.randn(param.shape, generator=gen))
    return model


def reference_state_dict(model):
    """Our parameter names -> SPEC §5 names (no ``module.`` prefix)."""
    out = {}
    for key, value in model.state_dict().items():
        for ours, ref in (('backbone.', ''), ('neck.', ''),
                          ('cls_head.norm.', 'mlp_head.0.'),
                          ('cls_head.fc_cls.', 'mlp_head.1.')):
            if key.startswith(ours):
                out[ref + key[len(ours):]] = value.detach().clone()
                break
    return out


@pytest.fixture
def tiny_pretrain():
    return randomize_(build('cavmae_tiny_pretrain')).eval()


@pytest.fixture
def tiny_finetune():
    return randomize_(build('cavmae_tiny_finetune', cls_head=dict(
        num_classes=7))).eval()
