"""The toy comparison of CAV-MAE and CAV-MAE Sync (tools/run_toy_sync_demo.py,
``make demo-sync``): its three pre-training configs share the recipe and the
data, and CAV-MAE's checkpoint is evaluated per segment exactly."""
import torch
from mmengine.registry import init_default_scope

from mmaction.registry import MODELS
from .sync_config_helpers import load

SYNC_TOY = ('cavmae_toy_pretrain.py', 'cavmae_toy_pretrain_on_sync_data.py',
            'cavmae_sync_toy_pretrain.py')


def test_toy_comparison_runs_on_the_same_recipe_and_data():
    """The three toy pre-trainings share schedule, optimizer, batch,
    masking and loss weights; the two of the comparison the clips."""
    cfgs = [load(name) for name in SYNC_TOY]
    for cfg in cfgs[1:]:
        for key in ('train_cfg', 'optim_wrapper', 'param_scheduler',
                    'auto_scale_lr', 'randomness'):
            assert cfg[key] == cfgs[0][key], key
        assert cfg.model.head == cfgs[0].model.head
        assert cfg.train_dataloader.batch_size == \
            cfgs[0].train_dataloader.batch_size
        for key in ('mask_ratio_a', 'mask_ratio_v', 'embed_dims',
                    'modality_specific_depth', 'shared_depth'):
            assert cfg.model.backbone[key] == cfgs[0].model.backbone[key]
    cavmae, sync = cfgs[1:]
    for key in ('data_root', 'ann_file'):
        assert cavmae.train_dataloader.dataset[key] == \
            sync.train_dataloader.dataset[key]
    assert cavmae.test_dataloader.dataset.ann_file == 'retrieval.json'
    assert sync.test_dataloader.dataset.ann_file == 'retrieval.json'
    # CAV-MAE: the clip fbank; Sync: its segments, cls + registers.
    assert cavmae.model.backbone.audio_length == 400
    assert sync.model.backbone.audio_length == 96
    assert (sync.model.backbone.cls_token,
            sync.model.backbone.num_register_tokens) == (True, 4)
    assert not cavmae.model.backbone.get('cls_token', False)


def test_cavmae_sync_toy_checkpoint_evaluates_per_segment():
    """cavmae_toy_retrieval_on_sync_data.py (96-row segments) loads the
    400-row CAV-MAE strictly: the same weights, the position table's
    first 6 time columns, equal to a fresh 96-row model's; the Sync
    retrieval config fits the Sync pre-training exactly."""
    init_default_scope('mmaction')
    torch.manual_seed(0)
    trained = MODELS.build(load('cavmae_toy_pretrain_on_sync_data.py').model)
    segments = MODELS.build(load('cavmae_toy_retrieval_on_sync_data.py').model)
    fresh_table = segments.backbone.pos_embed_a.detach().clone()
    segments.load_state_dict(trained.state_dict(), strict=True)
    assert torch.equal(segments.backbone.pos_embed_a, fresh_table)
    assert torch.equal(segments.backbone.blocks_a[0].attn.qkv.weight,
                       trained.backbone.blocks_a[0].attn.qkv.weight)
    sync = MODELS.build(load('cavmae_sync_toy_pretrain.py').model)
    MODELS.build(load('cavmae_sync_toy_retrieval.py').model).load_state_dict(
        sync.state_dict(), strict=True)
    # Per-frame features [B, F, D] from the segment inputs.
    audio = torch.randn(2, 8, 96, 128)
    imgs = torch.randint(0, 256, (2, 8, 3, 112, 112)).float()
    for model in (segments, sync):
        model.eval()
        with torch.no_grad():
            out = model.extract_embeddings(dict(audio=audio, imgs=imgs))
        assert out['audio'].shape == out['visual'].shape == (2, 8, 64)
