"""``tools/test.py --show-dir``: pictures of the first test samples."""
import os
import os.path as osp
import re
from typing import Optional

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmaction.registry import HOOKS


def _label_data(sample, new: str, old: str) -> Optional[torch.Tensor]:
    """``sample.<new>`` (MMAction2 >= 1.2) or ``sample.<old>.item``."""
    if new in sample:
        return sample.get(new)
    if old in sample:
        return sample.get(old).item
    return None


def _gt_indices(label: Optional[torch.Tensor]) -> list:
    """Class indices of a class index ``[1]`` or a multi-hot vector."""
    if label is None:
        return []
    label = label.detach().cpu().reshape(-1)
    if label.numel() == 1 and not label.is_floating_point():
        return [int(label)] if int(label) >= 0 else []
    return torch.nonzero(label > 0.5).reshape(-1).tolist()


@HOOKS.register_module()
class TestVisualizationHook(Hook):
    """Write a picture of each of the first ``max_items`` test samples to
    ``out_dir`` (rank 0): for a pre-training model with a decoder
    (``CAVMAE``) its in-painting figure
    (:func:`~cavmae_mm.visualization.plot_reconstruction`, masks seeded by
    ``seed`` + sample number); for a recognizer the spectrogram, frame and
    top-k classes (:func:`~cavmae_mm.visualization.plot_prediction`).
    ``tools/test.py --show-dir DIR`` adds it.

    Args:
        out_dir (str): Folder of the PNG files (``<video_id>.png``).
        max_items (int): Pictures in all. Defaults to 16.
        seed (int): Seed of the reconstruction masks. Defaults to 0.
        topk (int): Classes shown. Defaults to 5.
        dpi (int): Defaults to 80.
    """

    priority = 'LOW'

    def __init__(self, out_dir: str, max_items: int = 16, seed: int = 0,
                 topk: int = 5, dpi: int = 80) -> None:
        self.out_dir = out_dir
        self.max_items = max_items
        self.seed = seed
        self.topk = topk
        self.dpi = dpi
        self.written = []

    def before_test(self, runner) -> None:
        self.written = []
        if is_main_process():
            os.makedirs(self.out_dir, exist_ok=True)

    def _file(self, video_id: str) -> str:
        stem = re.sub(r'[^\w.-]+', '_', str(video_id)) or 'clip'
        path = osp.join(self.out_dir, f'{stem}.png')
        while path in self.written:  # the same clip twice
            path = path[:-4] + '_.png'
        self.written.append(path)
        return path

    @torch.no_grad()
    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        take = min(self.max_items - len(self.written),
                   len(outputs or []))
        if take <= 0 or not is_main_process():
            return
        from cavmae_mm.visualization import (plot_prediction,
                                             plot_reconstruction,
                                             reconstruct)
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        ids = [sample.get('video_id', f'{batch_idx}_{i}')
               for i, sample in enumerate(outputs)]
        if getattr(model, 'neck', None) is not None and hasattr(
                model, 'extract_embeddings'):
            inputs = model.data_preprocessor(data_batch, False)['inputs']
            backbone = model.backbone
            size = inputs['audio'].shape[0]
            noise = torch.Generator().manual_seed(self.seed +
                                                  len(self.written))
            noise_a = torch.rand(size, backbone.num_patches_a,
                                 generator=noise)
            noise_v = torch.rand(size, backbone.num_patches_v,
                                 generator=noise)
            result = reconstruct(model, inputs,
                                 noise_a.to(inputs['audio'].device),
                                 noise_v.to(inputs['audio'].device))
            for i in range(take):
                plot_reconstruction(result, i, self._file(ids[i]),
                                    title=str(ids[i]), dpi=self.dpi)
            return
        dataset = runner.test_dataloader.dataset
        names = list(dataset.metainfo.get('classes') or [])
        for i in range(take):
            scores = _label_data(outputs[i], 'pred_score', 'pred_scores')
            if scores is None:
                return  # neither a reconstruction nor a classification
            scores = scores.float().reshape(-1, scores.shape[-1]).mean(0)
            inputs = data_batch['inputs']
            audio = inputs.get('audio', [None] * len(outputs))[i] \
                if isinstance(inputs, dict) else None
            imgs = inputs.get('imgs', [None] * len(outputs))[i] \
                if isinstance(inputs, dict) else None
            frame = imgs[imgs.shape[0] // 2] if imgs is not None and \
                imgs.dim() == 4 else imgs
            labels = names or [str(c) for c in range(scores.numel())]
            plot_prediction(
                audio, frame, scores, labels, self._file(ids[i]),
                gt_labels=_gt_indices(
                    _label_data(outputs[i], 'gt_label', 'gt_labels')),
                title=str(ids[i]), topk=self.topk, dpi=self.dpi)
