"""CAVMAEClsHead: initialization."""
import torch

from cavmae_mm.models.heads import CAVMAEClsHead
from ..init_cfg_utils import assert_holds, save_random_checkpoint


def test_reference_initialization():
    head = CAVMAEClsHead(num_classes=5, in_channels=16)
    head.init_weights()
    assert torch.equal(head.norm.weight, torch.ones(16))
    assert torch.equal(head.fc_cls.bias, torch.zeros(5))
    assert head.fc_cls.weight.abs().max() <= (6 / (16 + 5))**0.5  # Xavier


def test_pretrained_init_cfg_is_applied(tmp_path):
    path = tmp_path / 'model.pth'
    state = save_random_checkpoint(
        CAVMAEClsHead(num_classes=5, in_channels=16), path,
        prefix='cls_head.')
    head = CAVMAEClsHead(
        num_classes=5, in_channels=16,
        init_cfg=dict(type='Pretrained', checkpoint=str(path),
                      prefix='cls_head.'))
    head.init_weights()
    assert_holds(head, state)
