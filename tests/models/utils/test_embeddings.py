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
