"""TestVisualizationHook (tools/test.py --show-dir): one picture per test
sample up to max_items, reconstructions of a pre-training model,
predictions of a recognizer; the ground truth read from either label
field."""
import os.path as osp
from types import SimpleNamespace

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image

import cavmae_mm  # noqa: F401
from mmaction.registry import HOOKS, MODELS
from mmaction.structures import ActionDataSample
from cavmae_mm.engine.hooks.test_visualization_hook import _gt_indices

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
TINY = dict(audio_length=128, img_size=32)


def tiny_model(kind):
    init_default_scope('mmaction')
    cfg = Config.fromfile(osp.join(
        ROOT, f'configs/_base_/models/cavmae_tiny_{kind}.py'))
    cfg.model.backbone.update(TINY)
    if kind == 'finetune':
        cfg.model.cls_head.num_classes = 3
    torch.manual_seed(0)
    return MODELS.build(cfg.model).eval()


def batch(size):
    samples = []
    for i in range(size):
        sample = ActionDataSample()
        sample.set_metainfo(dict(video_id=f'clip {i}'))
        sample.set_gt_labels(torch.tensor([i % 3]))
        samples.append(sample)
    return dict(
        inputs=dict(audio=[torch.randn(128, 128) for _ in range(size)],
                    imgs=[torch.randint(0, 255, (1, 3, 32, 32),
                                        dtype=torch.uint8)
                          for _ in range(size)]),
        data_samples=samples)


def run(hook, model, batches):
    runner = SimpleNamespace(model=model, test_dataloader=SimpleNamespace(
        dataset=SimpleNamespace(metainfo=dict(classes=('a', 'b', 'c')))))
    hook.before_test(runner)
    for index, data in enumerate(batches):
        with torch.no_grad():
            outputs = model.test_step(data)
        hook.after_test_iter(runner, index, data, outputs)
    return sorted(p for p in hook.written)


def test_reconstructions_of_a_pretraining_model(tmp_path):
    hook = HOOKS.build(dict(type='TestVisualizationHook',
                            out_dir=str(tmp_path), max_items=3))
    written = run(hook, tiny_model('pretrain'), [batch(2), batch(2)])
    # 3 of the 4 samples; the repeated video ids get their own files.
    assert [osp.basename(p) for p in written] == [
        'clip_0.png', 'clip_0_.png', 'clip_1.png']
    with Image.open(written[0]) as image:
        assert image.size == (1280, 480)  # plot_reconstruction at dpi 80


def test_predictions_of_a_recognizer(tmp_path):
    hook = HOOKS.build(dict(type='TestVisualizationHook',
                            out_dir=str(tmp_path)))
    written = run(hook, tiny_model('finetune'), [batch(2)])
    assert [osp.basename(p) for p in written] == ['clip_0.png',
                                                  'clip_1.png']
    with Image.open(written[0]) as image:
        assert image.size == (1200, 320)  # plot_prediction at dpi 80


def test_ground_truth_indices():
    assert _gt_indices(torch.tensor([2])) == [2]
    assert _gt_indices(torch.tensor([-1])) == []
    assert _gt_indices(torch.tensor([0., 1., 0., 1.])) == [1, 3]
    assert _gt_indices(None) == []
