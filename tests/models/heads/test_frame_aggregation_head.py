"""CAVMAEFrameAggregationHead: one score per clip from its frames'
features; trained through CAVMAERecognizer with several frames."""
import pytest
import torch
from mmengine.structures import LabelData

from cavmae_mm.models.heads import CAVMAEFrameAggregationHead
from mmaction.structures import ActionDataSample
from ..conftest import build


def test_mean_aggregation_is_the_cls_head_on_the_frame_mean():
    head = CAVMAEFrameAggregationHead(5, in_channels=16, aggregate='mean')
    head.init_weights()
    features = torch.randn(6, 16)
    expected = head.fc_cls(head.norm(features.reshape(2, 3, 16).mean(1)))
    assert torch.equal(head(features, num_segs=3), expected)
    assert not hasattr(head, 'cls_token')


def test_self_attention_aggregation():
    torch.manual_seed(0)
    head = CAVMAEFrameAggregationHead(5, in_channels=16, num_heads=4)
    head.init_weights()
    assert len(head.blocks) == 2
    assert 0 < head.cls_token.std() < 0.05
    features = torch.randn(6, 16)
    out = head(features, num_segs=3)
    assert out.shape == (2, 5)
    # The order of a clip's frames does not matter (no position code);
    # other clips do not either.
    shuffled = features.reshape(2, 3, 16)[:, [2, 0, 1]].reshape(6, 16)
    torch.testing.assert_close(head(shuffled, num_segs=3), out)
    torch.testing.assert_close(head(features[:3], num_segs=3), out[:1])
    with pytest.raises(ValueError, match='aggregate'):
        CAVMAEFrameAggregationHead(5, aggregate='max')


def test_recognizer_trains_and_predicts_through_the_aggregating_head():
    model = build('cavmae_tiny_finetune',
                  backbone=dict(audio_length=416, cls_token=True,
                                num_register_tokens=2,
                                multimodal_feature='cls',
                                unimodal_norms='joint'),
                  cls_head=dict(type='CAVMAEFrameAggregationHead',
                                num_classes=5, in_channels=128,
                                num_heads=4, average_clips='prob',
                                loss_cls=dict(type='CrossEntropyLoss')))
    samples = []
    for label in (1, 3):
        sample = ActionDataSample()
        sample.gt_labels = LabelData(item=torch.tensor([label]))
        samples.append(sample)
    data = dict(audio=torch.randn(2, 4, 416, 128),
                imgs=torch.randn(2, 4, 3, 224, 224))
    losses = model(data, samples, mode='loss')
    assert torch.isfinite(losses['loss_cls'])
    losses['loss_cls'].backward()
    assert model.cls_head.cls_token.grad.abs().sum() > 0
    assert model.backbone.cls_token_a.grad.abs().sum() > 0
    with torch.no_grad():
        out = model(data, samples, mode='predict')
    assert out[0].pred_scores.item.shape == (5, )
    # A plain head refuses several frames in training.
    plain = build('cavmae_tiny_finetune', backbone=dict(audio_length=416),
                  cls_head=dict(num_classes=5))
    with pytest.raises(ValueError, match='frame-aggregating head'):
        plain(data, samples, mode='loss')
