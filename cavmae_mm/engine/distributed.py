"""Multi-process training on machines without a GPU."""
import torch
import torch.distributed as torch_dist
from mmengine.config import Config


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Prepare ``cfg`` for data-parallel training over CPU processes (gloo).

    MMEngine's launcher assumes one CUDA device per process: it calls
    ``torch.cuda.set_device`` and wraps the model with
    ``device_ids=[LOCAL_RANK]``. Without CUDA this function initializes the
    process group with the gloo backend itself (from the ``torchrun``
    environment: ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``)
    and points the model wrapper at the CPU, keeping a user-given wrapper's
    other settings: ``model_wrapper_cfg`` becomes a CPU
    ``MMDistributedDataParallel`` (``device_ids=None``) for the ``Runner``;
    for the ``FlexibleRunner`` the strategy's ``model_wrapper`` gets
    ``device_ids=None`` (``DDPStrategy``) or ``device_id=cpu``
    (``FSDPStrategy``). The runner then sees an initialized process group
    and uses it.

    Args:
        cfg (Config): The run's config (modified in place).
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        bool: True when it set up a CPU process group; False with a GPU or
        ``launcher='none'`` (nothing changed).
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher != 'pytorch':
        raise RuntimeError(f'CPU multi-process runs support the "pytorch" '
                           f'launcher (torchrun / tools/dist_train.sh), got '
                           f'{launcher!r}')
    if not torch_dist.is_initialized():
        dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {})
        kwargs = {k: v for k, v in dist_cfg.items() if k != 'backend'}
        if 'timeout' in kwargs and not hasattr(kwargs['timeout'], 'seconds'):
            import datetime
            kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
        torch_dist.init_process_group(backend='gloo', **kwargs)
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    cfg.env_cfg.dist_cfg.backend = 'gloo'
    if cfg.get('runner_type') == 'FlexibleRunner':
        _cpu_strategy(cfg)
        return True
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters',
                       cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    return True


def _cpu_strategy(cfg: Config) -> None:
    """CPU settings for a ``FlexibleRunner`` strategy."""
    strategy = cfg.setdefault('strategy', dict(type='DDPStrategy'))
    strategy_type = strategy.get('type', 'DDPStrategy')
    wrapper = dict(strategy.get('model_wrapper') or {})
    if strategy_type == 'DDPStrategy':
        wrapper.setdefault('type', 'MMDistributedDataParallel')
        wrapper.setdefault('broadcast_buffers', False)
        wrapper['device_ids'] = None
    elif strategy_type == 'FSDPStrategy':
        wrapper.setdefault('type', 'MMFullyShardedDataParallel')
        wrapper['device_id'] = torch.device('cpu')
        if strategy.get('state_dict_cfg') == 'full':
            # 'full' offloads the gathered weights to the CPU, which crashes
            # (SIGSEGV) when they already are there.
            strategy['state_dict_cfg'] = dict(
                state_dict_type='FULL_STATE_DICT',
                state_dict_config=dict(
                    type='FullStateDictConfig', offload_to_cpu=False,
                    rank0_only=True),
                optim_state_dict_config=dict(
                    type='FullOptimStateDictConfig', offload_to_cpu=False,
                    rank0_only=True))
    else:
        raise RuntimeError(f'{strategy_type} needs GPUs; on the CPU use '
                           f'DDPStrategy or FSDPStrategy')
    strategy['model_wrapper'] = wrapper
