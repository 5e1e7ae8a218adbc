"""The retrieval embeddings (cavmae_mm/models/utils/embeddings.py)."""
import pytest
import torch
import torch.nn.functional as F

from cavmae_mm.models.backbones import CAVMAEViT
from cavmae_mm.models.utils.embeddings import retrieval_embeddings
from ..backbones.test_cavmae_vit import TINY


@pytest.mark.parametrize('views', [1, 3])
def test_extract_embeddings_pool_the_single_modality_paths(views):
    """Mean over tokens, frames averaged, then L2-normalized: bit for bit
    the pooled forward of the audio-only / video-only modes."""
    backbone = CAVMAEViT(**TINY).eval()
    backbone.init_weights()
    audio = torch.randn(2, 256, 128)
    imgs = torch.randn(2 * views, 3, 32, 32)
    with torch.no_grad():
        out = retrieval_embeddings(backbone, audio, imgs, views,
                                   with_tokens=True)
        plain = retrieval_embeddings(backbone, audio, imgs, views)
        audio_pooled = backbone(audio=audio, mode='audioonly')
        visual_pooled = backbone(imgs=imgs, mode='videoonly')
    assert torch.equal(out['audio'], F.normalize(audio_pooled, dim=-1))
    assert torch.equal(out['visual'], F.normalize(
        visual_pooled.reshape(2, views, 64).mean(1), dim=-1))
    assert set(plain) == {'audio', 'visual'}
    for name in plain:
        assert torch.equal(plain[name], out[name])
        assert torch.allclose(out[name].norm(dim=-1), torch.ones(2))
    assert out['audio_tokens'].shape == (2, 8 * 16, 64)
    assert out['visual_tokens'].shape == (2, views, 4, 64)
    only_audio = retrieval_embeddings(backbone, audio=audio)
    assert set(only_audio) == {'audio'}


@pytest.mark.parametrize('cls_token', [False, True])
def test_paired_frames_give_one_unit_feature_per_frame(cls_token):
    """Sync: [B * F] segments and frames -> [B, F, D]; the cls token when
    the contrastive loss uses it, else the patch mean (never the
    registers)."""
    backbone = CAVMAEViT(**TINY, cls_token=cls_token, num_register_tokens=2,
                         keep_register_tokens=True).eval()
    backbone.init_weights()
    audio, imgs = torch.randn(6, 256, 128), torch.randn(6, 3, 32, 32)
    with torch.no_grad():
        out = retrieval_embeddings(backbone, audio, imgs, frames=3)
        streams = backbone.forward_contrastive(audio, imgs)
    for name in ('audio', 'visual'):
        assert out[name].shape == (2, 3, 64)
        assert torch.allclose(out[name].norm(dim=-1), torch.ones(2, 3))
        stream = streams[name]
        pooled = stream['cls'] if cls_token else stream['tokens'].mean(1)
        assert torch.equal(out[name], F.normalize(pooled, dim=-1).reshape(
            2, 3, 64))
    assert streams['audio']['tokens'].shape == (6, 128, 64)  # no registers
