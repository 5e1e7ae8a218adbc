"""CAVMAEPretrainDecoder: initialization from init_cfg, its audio position
embedding adapted to another audio length."""
import pytest
import torch

from cavmae_mm.models.necks import CAVMAEPretrainDecoder
from ..conftest import build
from ..init_cfg_utils import assert_holds, save_random_checkpoint

TINY = dict(grid_a=(8, 16), grid_v=(2, 2), embed_dims=64,
            decoder_embed_dims=32, decoder_depth=1, decoder_num_heads=4)


@pytest.mark.parametrize('as_list', [False, True])
def test_pretrained_init_cfg_is_kept(tmp_path, as_list):
    path = tmp_path / 'model.pth'
    state = save_random_checkpoint(CAVMAEPretrainDecoder(**TINY), path,
                                   prefix='neck.')
    init_cfg = dict(type='Pretrained', checkpoint=str(path), prefix='neck.')
    if as_list:
        init_cfg = [init_cfg]
    neck = CAVMAEPretrainDecoder(**TINY, init_cfg=init_cfg)
    neck.init_weights()
    assert_holds(neck, state)


def test_decoder_audio_position_embedding_is_adapted_too():
    """A pre-training checkpoint at 1024 frames loads into a 512-frame
    model: the decoder's sin-cos embedding is cut like the encoder's."""
    state = build('cavmae_tiny_pretrain').state_dict()
    short = build('cavmae_tiny_pretrain', backbone=dict(audio_length=512),
                  neck=dict(grid_a=(8, 32)))
    fresh = short.neck.decoder_pos_embed_a.clone()
    short.load_state_dict(state, strict=True)
    assert short.neck.decoder_pos_embed_a.shape == fresh.shape
    assert short.neck.decoder_pos_embed_a.shape[1] == 8 * 32
    assert torch.allclose(short.neck.decoder_pos_embed_a, fresh)
