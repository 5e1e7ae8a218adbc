"""CAVMAEPretrainDecoder: initialization from init_cfg."""
import pytest

from cavmae_mm.models.necks import CAVMAEPretrainDecoder
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
