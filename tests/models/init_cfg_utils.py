"""Shared by the init_cfg tests: a module's weights saved as an MMEngine
checkpoint, and whether a module holds them."""
import torch


def save_random_checkpoint(module, path, prefix='', seed=0):
    """Save random values for every entry of ``module``'s state dict (keys
    under ``prefix``) as ``{'state_dict': ...}``; return them."""
    gen = torch.Generator().manual_seed(seed)
    state = {key: torch.randn(value.shape, generator=gen)
             for key, value in module.state_dict().items()}
    torch.save(dict(state_dict={prefix + k: v for k, v in state.items()}),
               str(path))
    return state


def assert_holds(module, state):
    loaded = module.state_dict()
    assert set(loaded) == set(state)
    for key, value in state.items():
        assert torch.equal(loaded[key], value), key
