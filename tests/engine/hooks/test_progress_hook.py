"""ProgressHook: done/total and an ETA for each test and val loop, rank 0
only; the tools add it to ``custom_hooks`` once."""
from types import SimpleNamespace

from mmengine.config import Config

import cavmae_mm  # noqa: F401
from mmaction.registry import HOOKS
from cavmae_mm.engine.hooks import ProgressHook, add_progress_hook


def _run_loop(hook, phase, iterations):
    runner = SimpleNamespace(**{f'{phase}_dataloader': range(iterations)})
    getattr(hook, f'before_{phase}_epoch')(runner)
    for index in range(iterations):
        getattr(hook, f'after_{phase}_iter')(runner, index)
    getattr(hook, f'after_{phase}_epoch')(runner)


def test_test_and_val_loops_log_done_total_and_eta(logged):
    hook = HOOKS.build(dict(type='ProgressHook', live=False))
    assert isinstance(hook, ProgressHook)
    _run_loop(hook, 'test', 5)
    _run_loop(hook, 'val', 3)
    lines = [m for m in logged() if m.startswith(('test:', 'val:'))]
    assert [line.split(',')[0] for line in lines] == [
        'test: 1/5 (20%)', 'test: 2/5 (40%)', 'test: 3/5 (60%)',
        'test: 4/5 (80%)', 'test: 5/5 (100%)', 'val: 1/3 (33%)',
        'val: 2/3 (67%)', 'val: 3/3 (100%)'
    ]
    assert all('elapsed ' in line and 'ETA ' in line for line in lines)
    assert hook.reporter is None


def test_silent_off_rank_0(logged, monkeypatch):
    from cavmae_mm.engine.hooks import progress_hook
    monkeypatch.setattr(progress_hook, 'is_main_process', lambda: False)
    _run_loop(ProgressHook(live=False), 'test', 4)
    assert not [m for m in logged() if m.startswith('test:')]


def test_add_progress_hook_once():
    assert add_progress_hook(None) == [dict(type='ProgressHook')]
    hooks = [dict(type='BadSampleReportHook')]
    assert add_progress_hook(hooks)[-1] == dict(type='ProgressHook')
    assert hooks == [dict(type='BadSampleReportHook')]  # not changed
    custom = [dict(type='mmaction.ProgressHook', live=True)]
    assert add_progress_hook(custom) == custom
    cfg = Config(dict(custom_hooks=[dict(type='ProgressHook')]))
    assert len(add_progress_hook(cfg.custom_hooks)) == 1
