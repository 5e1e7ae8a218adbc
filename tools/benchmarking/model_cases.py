"""Training steps and forward passes of CAV-MAE as benchmark cases.

Two implementations of the same model, each measured in a process of its
own (:mod:`.worker`):

* ``fast`` (the project's defaults): attention ``fused='auto'``
  (``scaled_dot_product_attention``, or where that is slower, under CPU
  bfloat16, the explicit formula computed in cache-sized chunks), the
  single-kernel ``Adam(fused=True)`` and, on the CPU, the process settings
  of ``tools/train.py`` (:mod:`cavmae_mm.engine.cpu_runtime`, applied by
  the worker);
* ``reference``: the reference implementation's eager style: explicit
  softmax attention over the whole batch with the scores scaled after the
  product (timm 0.4's ``Attention``, which the reference uses), PyTorch's
  default Adam, in a default process. The rest of the model is the
  project's code (the reference's token gathers and in-place additions in
  its decoder are not re-stated: a few ms of a step).

Mixed precision goes through the project's ``MixedPrecisionOptimWrapper``
(what ``--amp`` selects) and the step through MMEngine's
``BaseModel.train_step``, i.e. the runner's own path.
"""
import contextlib
from typing import Callable, Dict, Iterator, Tuple

import torch
from mmengine.optim import OptimWrapper
from mmengine.structures import LabelData

from mmaction.structures import ActionDataSample
from cavmae_mm.models.modes import MODES
from cavmae_mm.models.utils.transformer import Attention

_MODELS = 'configs/_base_/models'
CONFIGS = {
    ('base', 'pretrain'): f'{_MODELS}/cavmae_vit_base_pretrain.py',
    ('base', 'finetune'): f'{_MODELS}/cavmae_vit_base_finetune.py',
    ('tiny', 'pretrain'): f'{_MODELS}/cavmae_tiny_pretrain.py',
    ('tiny', 'finetune'): f'{_MODELS}/cavmae_tiny_finetune.py',
    # CAV-MAE Sync: the models of configs/cavmae_sync_*.py
    ('base', 'sync-pretrain'): f'{_MODELS}/cavmae_sync_vit_base_pretrain.py',
    ('base', 'sync-finetune'): f'{_MODELS}/cavmae_sync_vit_base_finetune.py',
    ('tiny', 'sync-pretrain'): f'{_MODELS}/cavmae_tiny_pretrain.py',
    ('tiny', 'sync-finetune'): f'{_MODELS}/cavmae_tiny_finetune.py',
}
#: The Sync geometry and tokens on the tiny models (ViT-B: in the configs).
TINY_SYNC = {
    'sync-pretrain': dict(backbone=dict(
        audio_length=416, cls_token=True, num_register_tokens=8)),
    'sync-finetune': dict(
        backbone=dict(audio_length=416, cls_token=True,
                      num_register_tokens=8, unimodal_norms='joint',
                      multimodal_feature='cls'),
        cls_head=dict(type='CAVMAEFrameAggregationHead',
                      aggregate='self_attention_cls', in_channels=128,
                      num_heads=4)),
}
#: case name -> (model kind, what runs)
MODEL_CASES: Dict[str, Tuple[str, str]] = {
    'pretrain': ('pretrain', 'train'),
    'finetune': ('finetune', 'train'),
    **{f'infer-{mode}': ('finetune', mode) for mode in MODES},
    'infer-retrieval': ('pretrain', 'retrieval'),
    # A sample is a clip of F frame pairs (segment + frame): 1 in Sync's
    # pre-training (a random position), 16 in its fine-tuning and retrieval.
    'sync-pretrain': ('sync-pretrain', 'train'),
    'sync-finetune': ('sync-finetune', 'train'),
    'infer-sync-retrieval': ('sync-pretrain', 'retrieval'),
}
#: Frame pairs per clip of each case (CAV-MAE's cases: one spectrogram and
#: one frame).
FRAMES_PER_CLIP = {'sync-pretrain': 1, 'sync-finetune': 16,
                   'infer-sync-retrieval': 16}
IMPLS = ('fast', 'reference')


def build_case_model(arch: str, kind: str, device: str,
                     config_root: str = '.') -> torch.nn.Module:
    """A randomly initialized ViT-B (``arch='base'``) or tiny model."""
    import logging

    from mmengine.logging import MMLogger

    from cavmae_mm.apis import init_model

    # MMEngine logs one line per initialized parameter when no log file is
    # open; keep the benchmark's output to its results.
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    options = None
    if arch == 'tiny' and kind in TINY_SYNC:
        options = {f'model.{part}': value
                   for part, value in TINY_SYNC[kind].items()}
    try:
        return init_model(f'{config_root}/{CONFIGS[(arch, kind)]}',
                          device=device, cfg_options=options)
    finally:
        logger.setLevel(level)


def set_impl(model: torch.nn.Module, impl: str) -> None:
    """Choose the attention kernels of an implementation."""
    if impl not in IMPLS:
        raise ValueError(f'impl must be one of {IMPLS}, got {impl!r}')
    for module in model.modules():
        if isinstance(module, Attention):
            module.fused = 'auto' if impl == 'fast' else False


@contextlib.contextmanager
def without_checkpointing(model: torch.nn.Module) -> Iterator[None]:
    """Count the model's FLOPs, not the recomputation of ``with_cp``."""
    parts = [part for part in model.modules()
             if getattr(part, 'with_cp', False)]
    for part in parts:
        part.with_cp = False
    try:
        yield
    finally:
        for part in parts:
            part.with_cp = True


def make_batch(model: torch.nn.Module, batch: int, device: str,
               seed: int = 0, frames_per_clip: int = 0) -> dict:
    """A data-loader batch in the README's input contract: per clip a
    spectrogram ``[T, 128]`` and one frame, or (``frames_per_clip`` F > 0,
    CAV-MAE Sync) F segments ``[F, T, 128]`` and F frames."""
    gen = torch.Generator().manual_seed(seed)
    rows = model.backbone.audio_length
    size = model.backbone.img_size
    shape = (frames_per_clip, rows, 128) if frames_per_clip else (rows, 128)
    audio = [torch.randn(shape, generator=gen) for _ in range(batch)]
    imgs = [torch.randint(0, 256, (max(frames_per_clip, 1), 3, size, size),
                          generator=gen, dtype=torch.uint8)
            for _ in range(batch)]
    samples = []
    head = getattr(model, 'cls_head', None)
    for _ in range(batch):
        sample = ActionDataSample()
        if head is not None:
            target = torch.zeros(head.num_classes)
            target[torch.randint(head.num_classes, (2, ),
                                 generator=gen)] = 1
            sample.gt_labels = LabelData(item=target)
        samples.append(sample)
    return dict(inputs=dict(audio=audio, imgs=imgs), data_samples=samples)


def make_optim_wrapper(model: torch.nn.Module, impl: str,
                       dtype: str) -> OptimWrapper:
    """Adam with the reference's hyper-parameters (SPEC §6)."""
    from cavmae_mm.engine.optimizers import MixedPrecisionOptimWrapper
    params = [p for p in model.parameters() if p.requires_grad]
    kwargs = dict(lr=1e-4, betas=(0.95, 0.999), weight_decay=5e-7)
    if impl == 'fast':
        kwargs['fused'] = True
    optimizer = torch.optim.Adam(params, **kwargs)
    if dtype == 'fp32':
        return OptimWrapper(optimizer=optimizer)
    return MixedPrecisionOptimWrapper(optimizer=optimizer, dtype='bfloat16')


def run_model_case(model: torch.nn.Module, case: str, impl: str,
                   dtype: str, batch: int, device: str,
                   with_cp: bool = False) -> Callable[[], object]:
    """A zero-argument callable running one step of ``case``; ``with_cp``
    turns on activation checkpointing in the encoder and decoder of the
    fast implementation's model."""
    kind, what = MODEL_CASES[case]
    set_impl(model, impl)
    data = make_batch(model, batch, device,
                      frames_per_clip=FRAMES_PER_CLIP.get(case, 0))
    if what == 'train':
        model.train()
        if with_cp and impl == 'fast':
            for part in (model.backbone, getattr(model, 'neck', None)):
                if part is not None:
                    part.with_cp = True
        wrapper = make_optim_wrapper(model, impl, dtype)

        def train_step():
            return model.train_step(data, wrapper)

        return train_step

    model.eval()
    inputs = model.data_preprocessor(data, False)['inputs']
    autocast = dict(device_type=device.split(':')[0],
                    dtype=torch.bfloat16, enabled=dtype == 'bf16')

    @torch.no_grad()
    def forward():
        with torch.autocast(**autocast):
            if what == 'retrieval':
                return model.extract_embeddings(inputs)
            return model.extract_feat(inputs, stage='head', test_mode=True,
                                      mode=what)

    return forward
