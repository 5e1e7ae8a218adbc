"""Safe checkpoint loading (cavmae_mm/utils/safe_load.py): MMEngine training
checkpoints load under ``weights_only=True``, arbitrary pickled objects are
refused."""
import _compat_pickle
import os
import pickle
import pickletools
import subprocess
import zipfile

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint, load_checkpoint
from torch.utils.data import Dataset

import cavmae_mm  # noqa: F401
import cavmae_mm.utils  # noqa: F401  (registers the safe globals)
from cavmae_mm.apis import init_model
from cavmae_mm.utils.safe_load import (UnsafeCheckpointError,
                                       get_state_dict, history_buffer_method,
                                       load_checkpoint_safe,
                                       register_safe_globals, safe_globals)
from mmaction.structures import ActionDataSample

TINY_PRETRAIN = 'configs/_base_/models/cavmae_tiny_pretrain.py'
# A smaller input for the 2-iteration training: 256 frames, 32x32 images.
SMALL_INPUT = {
    'model.backbone.audio_length': 256,
    'model.backbone.img_size': 32,
    'model.neck.grid_a': (8, 16),
    'model.neck.grid_v': (2, 2),
}
EXPECTED_SAFE_NAMES = {
    'mmengine.logging.history_buffer.HistoryBuffer',
    'numpy.ndarray',
    'numpy.dtype',
    'builtins.getattr',
    'numpy._core.multiarray._reconstruct',
    'numpy.core.multiarray._reconstruct',
    'numpy._core.multiarray.scalar',
    'numpy.core.multiarray.scalar',
} | {
    f'numpy.dtypes.{name}DType'
    for name in ('Bool', 'Int8', 'Int16', 'Int32', 'Int64', 'UInt8',
                 'UInt16', 'UInt32', 'UInt64', 'Float16', 'Float32',
                 'Float64')
}


class RandomAudioVisual(Dataset):
    """Four random clips in the model input format."""
    metainfo = dict(classes=('a', 'b'))

    def __len__(self):
        return 4

    def __getitem__(self, index):
        gen = torch.Generator().manual_seed(index)
        return dict(
            inputs=dict(audio=torch.randn(256, 128, generator=gen),
                        imgs=torch.rand(1, 3, 32, 32, generator=gen) * 255),
            data_samples=ActionDataSample())


def make_runner(work_dir, max_iters, name, **kwargs):
    cfg = Config.fromfile(TINY_PRETRAIN)
    cfg.merge_from_dict(SMALL_INPUT)
    return Runner(
        model=cfg.model,
        work_dir=str(work_dir),
        experiment_name=name,
        train_dataloader=dict(
            dataset=RandomAudioVisual(),
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=2,
            num_workers=0),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-4)),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.1, by_epoch=False,
                 begin=0, end=2),
            dict(type='MultiStepLR', milestones=[2], by_epoch=False)
        ],
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=2,
                            by_epoch=False),
            logger=dict(type='LoggerHook', interval=1)),
        default_scope='mmaction',
        randomness=dict(seed=0),
        **kwargs)


@pytest.fixture(scope='module')
def training_checkpoint(tmp_path_factory):
    """A real MMEngine checkpoint with resume state (message hub,
    optimizer, schedulers) after 2 iterations of the tiny model."""
    work_dir = tmp_path_factory.mktemp('train')
    runner = make_runner(work_dir, 2, 'safe_ckpt_train')
    runner.train()
    return str(work_dir / 'iter_2.pth'), runner.model.state_dict()


# ------------------------------------------------------------ allow-list


def test_safe_global_list_is_exact():
    register_safe_globals()
    register_safe_globals()  # idempotent
    assert {name for _, name in safe_globals()} == EXPECTED_SAFE_NAMES
    registered = torch.serialization.get_safe_globals()
    for pair in safe_globals():
        assert pair in registered


def test_getattr_only_reaches_history_buffer_statistics():
    for name in ('min', 'max', 'current', 'mean'):
        assert history_buffer_method(HistoryBuffer, name) is getattr(
            HistoryBuffer, name)
    for owner, name in ((HistoryBuffer, '__init__'), (HistoryBuffer,
                                                      'update'),
                        (os, 'system'), (torch, 'load')):
        with pytest.raises(pickle.UnpicklingError, match='builtins.getattr'):
            history_buffer_method(owner, name)


def pickled_globals(path):
    """Every global a torch.save file names (``module.qualname``)."""
    with zipfile.ZipFile(path) as archive:
        pkl = next(n for n in archive.namelist() if n.endswith('/data.pkl'))
        data = archive.read(pkl)
    names = set()
    for opcode, arg, _ in pickletools.genops(data):
        if opcode.name == 'GLOBAL':  # torch.save uses pickle protocol 2
            module, name = arg.split(' ')
            module, name = _compat_pickle.NAME_MAPPING.get(
                (module, name), (_compat_pickle.IMPORT_MAPPING.get(
                    module, module), name))
            names.add(f'{module}.{name}')
    return names


def test_training_checkpoint_needs_only_allowed_globals(training_checkpoint):
    path, _ = training_checkpoint
    # torch's own allow-list covers tensors, containers and bytes
    torch_defaults = ('torch.', 'collections.OrderedDict',
                      'collections.Counter', '_codecs.encode', 'builtins.set',
                      'builtins.bytearray', 'builtins.complex')
    found = {name for name in pickled_globals(path)
             if not name.startswith(torch_defaults)}
    # what MMEngine writes today; each of them must be on our list
    assert {'mmengine.logging.history_buffer.HistoryBuffer',
            'builtins.getattr', 'numpy.ndarray', 'numpy.dtype'} <= found
    assert found <= EXPECTED_SAFE_NAMES, found - EXPECTED_SAFE_NAMES


def test_training_checkpoint_loads_weights_only(training_checkpoint):
    path, trained_state = training_checkpoint
    checkpoint = load_checkpoint_safe(path)
    # torch.load's own default (weights_only=True on torch >= 2.6) too
    assert set(torch.load(path)) == set(checkpoint)
    assert {'meta', 'state_dict', 'message_hub', 'optimizer',
            'param_schedulers'} <= set(checkpoint)
    buffer = checkpoint['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert len(buffer.data[0]) == 2
    assert buffer.statistics('current') == buffer.data[0][-1]
    for key, value in trained_state.items():
        assert torch.equal(checkpoint['state_dict'][key], value)


def test_resume_and_load_from_through_mmengine(training_checkpoint,
                                               tmp_path):
    path, trained_state = training_checkpoint
    runner = make_runner(tmp_path, 3, 'safe_ckpt_resume', resume=True,
                         load_from=path)
    runner.train()  # resumes at iteration 2, trains one more
    assert runner.iter == 3
    history = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(history) == 3  # 2 resumed + 1 new
    assert runner.optim_wrapper.optimizer.state_dict()['state'][0][
        'step'] == 3

    # load_from (weights only) uses the same loader
    model = make_runner(tmp_path / 'b', 1, 'safe_ckpt_load').model
    load_checkpoint(model, path, map_location='cpu', strict=True)
    for key, value in trained_state.items():
        assert torch.equal(model.state_dict()[key], value)


def test_init_model_loads_training_checkpoint(training_checkpoint):
    path, trained_state = training_checkpoint
    model = init_model(TINY_PRETRAIN, path, cfg_options=SMALL_INPUT)
    assert not model.training
    assert model.dataset_meta == {'classes': ('a', 'b')}
    for key, value in trained_state.items():
        assert torch.equal(model.state_dict()[key], value)


# ------------------------------------------------------------ refusal


class ShellPayload:
    """Unpickling this runs a shell command."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


class SubprocessPayload(ShellPayload):

    def __reduce__(self):
        return subprocess.call, (['touch', self.marker], )


class GetattrPayload(ShellPayload):
    """Reaches a function's globals through getattr."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


def save_with(payload, path):
    torch.save({'state_dict': {'w': torch.zeros(2)},
                'meta': {'note': payload}}, path)


@pytest.mark.parametrize('payload_cls,offending', [
    (ShellPayload, f'{os.system.__module__}.system'),
    # pickle protocol 2 writes subprocess under its Python 2 name
    (SubprocessPayload, 'commands.call'),
    (GetattrPayload, 'mmengine.logging.history_buffer.HistoryBuffer.__init__'),
])
def test_malicious_checkpoint_is_refused(tmp_path, payload_cls, offending):
    marker = tmp_path / 'payload_ran'
    path = tmp_path / 'evil.pth'
    save_with(payload_cls(marker), path)
    with pytest.raises(UnsafeCheckpointError) as info:
        load_checkpoint_safe(str(path))
    message = str(info.value)
    assert str(path) in message
    assert f"'{offending}'" in message
    assert info.value.offending_global == offending
    assert not marker.exists()

    # MMEngine's own loader (load_from / resume) refuses it as well
    with pytest.raises(pickle.UnpicklingError, match=offending.split('.')[-1]):
        _load_checkpoint(str(path), map_location='cpu')
    assert not marker.exists()

    # the payload really runs when unpickled without the guard
    torch.load(path, weights_only=False)
    assert marker.exists() != (payload_cls is GetattrPayload)


def test_numeric_numpy_values_load_object_arrays_do_not(tmp_path):
    values = {'f32': np.float32(1.5), 'i64': np.int64(3),
              'mask': np.array([True, False]), 'u8': np.arange(3, dtype='u1')}
    torch.save(values, tmp_path / 'numeric.pth')
    loaded = load_checkpoint_safe(str(tmp_path / 'numeric.pth'))
    for key, value in values.items():
        assert loaded[key].dtype == value.dtype
        assert np.array_equal(loaded[key], value)

    torch.save({'objects': np.array([1, 'a'], dtype=object)},
               tmp_path / 'objects.pth')
    with pytest.raises(UnsafeCheckpointError) as info:
        load_checkpoint_safe(str(tmp_path / 'objects.pth'))
    assert info.value.offending_global == 'numpy.dtypes.ObjectDType'


def test_missing_file_is_named(tmp_path):
    path = tmp_path / 'nope.pth'
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_safe(str(path))


# ------------------------------------------------------------ helpers


def test_get_state_dict_containers():
    state = {'a': torch.zeros(1)}
    assert get_state_dict(state) == state
    assert get_state_dict({'state_dict': state, 'meta': {}}) == state
    assert get_state_dict({'model': state, 'epoch': 3}) == state
    with pytest.raises(ValueError, match='no state dict'):
        get_state_dict({'epoch': 3, 'a': torch.zeros(1)}, 'x.pth')
    with pytest.raises(ValueError, match='empty'):
        get_state_dict({})
