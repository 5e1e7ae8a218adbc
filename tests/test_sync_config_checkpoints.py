"""CAV-MAE Sync checkpoints under the Sync configs: random values in the
released checkpoint's keys and shapes convert into the pre-training and
retrieval configs' models strictly and back, initialize the fine-tuning
model, and evaluate through tools/test.py (tiny width, generated clips)."""
import shutil
import subprocess
import sys

import pytest
import torch
from mmengine.runner.checkpoint import load_checkpoint

from cavmae_mm.utils import load_state_dict_strict
from mmaction.registry import MODELS
from .sync_config_helpers import (FINETUNE, RETRIEVAL, ROOT, load,
                                  make_sync_clips, tiny_cfg_options,
                                  tiny_model_cfg)
from .tools.tool_utils import load_tool
from .utils.spec_checkpoints import (TINY, random_state,
                                     sync_reference_shapes)


convert_tool = load_tool('convert_official_ckpt')


@pytest.mark.parametrize('name', ('cavmae_sync_pretrain.py', ) + RETRIEVAL)
def test_released_format_converts_into_the_config_strictly(name, tmp_path,
                                                           capsys):
    """Random values in the released checkpoint's keys and shapes (R = 8,
    cls, audio_length 416, no heads; tiny width) -> the converter with
    the config -> a strict load into the config's model -> and back."""
    cfg = load(name)
    original = random_state(sync_reference_shapes(**TINY, decoder=True))
    src, ours = str(tmp_path / 'sync.pth'), str(tmp_path / 'ours.pth')
    torch.save(original, src)
    options = tiny_cfg_options(cfg)
    assert convert_tool.main([src, ours, '--config', cfg.filename,
                              '--cfg-options', *options]) == 0
    printed = capsys.readouterr().out
    assert 'model: CAV-MAE Sync (num_register_tokens=8, cls_token=True, ' \
        'contrastive_heads=False, audio_length=416)' in printed
    assert 'note: model.backbone.audio_length' not in printed  # no adapting
    model = MODELS.build(tiny_model_cfg(cfg))
    state = torch.load(ours)['state_dict']
    load_state_dict_strict(model, state)  # no missing / unexpected key
    load_checkpoint(model, ours, strict=True)  # load_from's path
    back = str(tmp_path / 'back.pth')
    assert convert_tool.main([ours, back, '--to-official']) == 0
    restored = torch.load(back)
    assert set(restored) == set(original)
    assert all(torch.equal(restored[k], v) for k, v in original.items())


def test_converted_released_checkpoint_initializes_finetuning(tmp_path):
    """load_from of the fine-tuning configs: every backbone parameter comes
    from the converted checkpoint; only the head is new."""
    original = random_state(sync_reference_shapes(**TINY, decoder=True))
    src, ours = str(tmp_path / 'sync.pth'), str(tmp_path / 'ours.pth')
    torch.save(original, src)
    pretrain = load('cavmae_sync_pretrain.py')
    assert convert_tool.main([src, ours, '--config', pretrain.filename,
                              '--cfg-options',
                              *tiny_cfg_options(pretrain)]) == 0
    model = MODELS.build(tiny_model_cfg(load(FINETUNE[0])))
    state = torch.load(ours)['state_dict']
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert missing and all(k.startswith('cls_head.') for k in missing)
    assert unexpected and all(k.startswith(('neck.', 'head.'))
                              for k in unexpected)
    assert torch.equal(model.backbone.register_tokens,
                       original['module.register_tokens'])


def test_converted_checkpoint_through_tools_test(tmp_path):
    """The documented path on generated clips (tiny width): convert a
    released-format checkpoint with the retrieval config, then
    tools/test.py with that config: retrieval over all 16 frames
    ('diagonal_mean') and the frame alignment."""
    cfg = load('cavmae_sync_retrieval_vggsound.py')
    data = make_sync_clips(tmp_path / 'vggsound')
    shutil.copy(data / 'ann.json', data / cfg.ann_file_retrieval)
    shutil.copy(data / 'vgg.csv', data / cfg.label_csv)
    src, ours = str(tmp_path / 'sync.pth'), str(tmp_path / 'ours.pth')
    torch.save(random_state(sync_reference_shapes(**TINY, decoder=True)),
               src)
    options = tiny_cfg_options(cfg)
    assert convert_tool.main([src, ours, '--config', cfg.filename,
                              '--cfg-options', *options]) == 0
    proc = subprocess.run(
        [sys.executable, 'tools/test.py', cfg.filename, ours, '--data-root',
         str(data), '--work-dir', str(tmp_path / 'work'), '--no-progress',
         '--cfg-options', *options, 'test_dataloader.num_workers=0',
         'test_dataloader.persistent_workers=False'],
        cwd=ROOT, capture_output=True, text=True, timeout=400)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert 'retrieval/a2v_R@1' in output and 'retrieval/v2a_MdR' in output
    assert 'alignment/chance: 0.0625' in output  # 1 / 16 frames
