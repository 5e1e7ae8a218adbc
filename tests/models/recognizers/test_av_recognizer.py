"""CAVMAERecognizer: retrieval embeddings of a fine-tuned model, modes,
multi-frame (ten-frame ensemble) evaluation."""
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmengine.structures import LabelData
from sklearn.metrics import average_precision_score

import cavmae_mm  # noqa: F401
from cavmae_mm.models.modes import MODES
from cavmae_mm.models.utils.embeddings import retrieval_embeddings
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample


def test_extract_embeddings_are_the_backbones_whatever_the_mode(
        tiny_finetune):
    audio, imgs = torch.randn(2, 1024, 128), torch.randn(2, 1, 3, 224, 224)
    with torch.no_grad():
        expected = retrieval_embeddings(
            tiny_finetune.backbone, audio, imgs[:, 0], with_tokens=True)
        for mode in MODES:
            tiny_finetune.mode = mode
            out = tiny_finetune.extract_embeddings(
                dict(audio=audio, imgs=imgs), with_tokens=True)
            assert set(out) == set(expected)
            for name in out:
                assert torch.equal(out[name], expected[name])


def test_recognizer_multi_frame_averages_frame_scores(tiny_finetune):
    model = tiny_finetune
    model.cls_head._sigmoid_average = True  # AudioSet-style averaging
    audio = torch.randn(2, 1024, 128)
    imgs = torch.randn(2, 3, 3, 224, 224)  # 3 frames per clip
    from mmaction.structures import ActionDataSample
    samples = [ActionDataSample() for _ in range(2)]
    with torch.no_grad():
        preds = model(dict(audio=audio, imgs=imgs), samples, mode='predict')
        per_frame = [torch.sigmoid(model(
            dict(audio=audio, imgs=imgs[:, f]), mode='tensor',
            stage='head')) for f in range(3)]
    expected = torch.stack(per_frame).mean(0)
    for i, sample in enumerate(preds):
        assert torch.allclose(sample.pred_scores.item, expected[i],
                              atol=1e-6)


def test_missing_input_errors_name_the_mode(tiny_finetune):
    tiny_finetune.mode = 'multimodal'
    with pytest.raises(ValueError, match="'multimodal' needs.*imgs"):
        tiny_finetune(dict(audio=torch.randn(1, 1024, 128)), mode='tensor')
    with pytest.raises(ValueError, match='mode must be one of'):
        tiny_finetune.mode = 'audio'
    with pytest.raises(ValueError, match='audio must be'):
        tiny_finetune.backbone(audio=torch.randn(1, 512, 128),
                               mode='audioonly')


# ------------------------------------------- multi-frame evaluation --
# A clip's score is the mean of the per-frame sigmoids (multi-label) or
# softmaxes (single-label), and the metrics see that mean (SPEC §1).
FRAMES, CLASSES = 10, 5


def build(average_clips, multi_label):
    init_default_scope('mmaction')
    cfg = Config.fromfile('configs/_base_/models/cavmae_tiny_finetune.py')
    cfg.model.backbone.update(audio_length=256, img_size=64)
    cfg.model.cls_head.update(
        num_classes=CLASSES, average_clips=average_clips,
        multi_class=multi_label,
        loss_cls=dict(type='BCELossWithLogits' if multi_label else
                      'CrossEntropyLoss'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.eval()


def batch(num, multi_label, seed=0):
    gen = torch.Generator().manual_seed(seed)
    audio = [torch.randn(256, 128, generator=gen) for _ in range(num)]
    imgs = [torch.randint(0, 256, (FRAMES, 3, 64, 64), generator=gen,
                          dtype=torch.uint8) for _ in range(num)]
    samples = []
    for i in range(num):
        sample = ActionDataSample()
        label = (torch.rand(CLASSES, generator=gen) < 0.4).float() \
            if multi_label else torch.tensor([i % CLASSES])
        sample.gt_labels = LabelData(item=label)
        samples.append(sample)
    return dict(inputs=dict(audio=audio, imgs=imgs), data_samples=samples)


def per_frame_logits(model, data):
    """Each frame on its own (one-frame clips), [num, FRAMES, CLASSES]."""
    inputs = model.data_preprocessor(data, False)['inputs']
    with torch.no_grad():
        return torch.stack([
            model(dict(audio=inputs['audio'], imgs=inputs['imgs'][:, f:f + 1]),
                  mode='tensor', stage='head') for f in range(FRAMES)
        ], dim=1)


@pytest.mark.parametrize('average_clips,multi_label,squash', [
    ('sigmoid', True, torch.sigmoid),
    ('prob', False, lambda x: torch.softmax(x, dim=-1)),
])
def test_ten_frame_ensemble_averages_frame_scores(average_clips, multi_label,
                                                  squash):
    model = build(average_clips, multi_label)
    data = batch(6, multi_label)
    expected = squash(per_frame_logits(model, data)).mean(dim=1)
    with torch.no_grad():
        out = model.test_step(data)
    scores = torch.stack([sample.pred_scores.item for sample in out])
    torch.testing.assert_close(scores, expected, rtol=1e-5, atol=1e-6)
    # Not the single middle frame's score.
    assert not torch.allclose(
        scores, squash(per_frame_logits(model, data)[:, 5]), atol=1e-4)

    if multi_label:
        evaluator = Evaluator(dict(type='MultiLabelMetric'))
        evaluator.process([s.to_dict() for s in out])
        result = evaluator.evaluate(len(out))
        targets = torch.stack([s.gt_labels.item for s in out]).numpy()
        aps = [average_precision_score(targets[:, c], expected[:, c].numpy())
               for c in range(CLASSES) if targets[:, c].any()]
        assert result['multilabel/mAP'] == pytest.approx(
            np.mean(aps), rel=1e-5)


def test_paired_frames_are_classified_each_with_its_segment(tiny_finetune):
    """Sync inputs at test time: frame f with audio segment f, the frame
    scores averaged per clip; training refuses several segments."""
    model = tiny_finetune
    audio = torch.randn(2, 3, 1024, 128)
    imgs = torch.randn(2, 3, 3, 224, 224)
    samples = [ActionDataSample() for _ in range(2)]
    with torch.no_grad():
        preds = model(dict(audio=audio, imgs=imgs), samples, mode='predict')
        per_frame = [torch.sigmoid(model(  # the config's 'sigmoid'
            dict(audio=audio[:, f], imgs=imgs[:, f]), mode='tensor',
            stage='head')) for f in range(3)]
    expected = torch.stack(per_frame).mean(0)
    for i, sample in enumerate(preds):
        assert torch.allclose(sample.pred_scores.item, expected[i],
                              atol=1e-6)
    with pytest.raises(ValueError, match='one spectrogram per clip'):
        model.extract_feat(dict(audio=audio, imgs=imgs))
