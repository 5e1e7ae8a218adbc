"""The leaderboard's tasks (``cls``, ``cls:<mode>``, ``retrieval``) and the
evaluation of one task of one model with MMEngine's test loop."""
import copy
from typing import Dict, List

from mmengine.config import Config

from cavmae_mm.models.modes import MODES


def parse_task(task: str):
    """``'cls'`` / ``'cls:<mode>'`` / ``'retrieval'`` → (kind, mode)."""
    kind, _, mode = task.partition(':')
    if kind == 'retrieval' and not mode:
        return kind, None
    if kind == 'cls' and (not mode or mode in MODES):
        return kind, mode or None
    raise ValueError(f"unknown task {task!r}: use 'cls', 'cls:<mode>' "
                     f"(mode in {MODES}) or 'retrieval'")


def _evaluator_types(evaluator) -> List[str]:
    evaluators = evaluator if isinstance(evaluator, (list, tuple)) else \
        [evaluator]
    return [str(e.get('type', '')).split('.')[-1] for e in evaluators
            if isinstance(e, dict)]


def _dataloader(cfg_dataloader) -> Dict:
    dataloader = copy.deepcopy(cfg_dataloader)
    if dataloader.get('num_workers', 0) == 0:
        dataloader['persistent_workers'] = False  # torch refuses both
    return dataloader


def evaluate(model, cfg: Config, task: str, work_dir: str,
             log_level: str, experiment: str, progress: bool = True) -> Dict:
    """One task of one model with MMEngine's test loop (with a
    ``ProgressHook`` unless not ``progress``).

    Returns:
        dict: ``status`` ``'ok'`` with ``metrics``, or ``'n/a'`` with a
        ``reason``.
    """
    from mmengine.runner import Runner

    from cavmae_mm.apis.inference import is_recognizer
    from cavmae_mm.engine.hooks import add_progress_hook
    from cavmae_mm.models import AVEmbeddingModel

    kind, mode = parse_task(task)
    if kind == 'cls':
        if not is_recognizer(model):
            return dict(status='n/a', reason=f'{type(model).__name__} is a '
                        f'pre-training model (no classification head)')
        if 'test_dataloader' not in cfg or 'test_evaluator' not in cfg:
            return dict(status='n/a', reason='the config has no '
                        'test_dataloader / test_evaluator')
        if 'AVRetrievalMetric' in _evaluator_types(cfg.test_evaluator):
            return dict(status='n/a', reason="the config's test set is a "
                        'retrieval set')
        dataloader, evaluator = cfg.test_dataloader, cfg.test_evaluator
        model.mode = mode or cfg.model.get('mode', 'multimodal')
        runner_model = model
    else:
        dataloader = cfg.get('retrieval_dataloader') or \
            cfg.get('test_dataloader')
        if not dataloader:
            return dict(status='n/a', reason='the config has neither '
                        'retrieval_dataloader nor test_dataloader')
        evaluator = dict(type='AVRetrievalMetric')
        runner_model = AVEmbeddingModel(model)  # any model's embeddings
    runner = Runner(
        model=runner_model,
        work_dir=work_dir,
        test_dataloader=_dataloader(dataloader),
        test_evaluator=copy.deepcopy(evaluator),
        test_cfg=dict(type='TestLoop'),
        default_hooks=dict(checkpoint=None),
        custom_hooks=add_progress_hook([]) if progress else None,
        env_cfg=cfg.get('env_cfg', dict(dist_cfg=dict(backend='nccl'))),
        default_scope=cfg.get('default_scope', 'mmaction'),
        log_level=log_level,
        experiment_name=experiment,
        cfg=None)  # the cache record names the config; skips its dump
    metrics = runner.test()
    del runner
    return dict(status='ok', metrics={k: float(v)
                                      for k, v in metrics.items()})
