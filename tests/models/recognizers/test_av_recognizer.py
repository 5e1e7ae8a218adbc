"""CAVMAERecognizer: retrieval embeddings of a fine-tuned model."""
import torch

from cavmae_mm.models.modes import MODES


def test_extract_embeddings_are_the_backbones_whatever_the_mode(
        tiny_finetune):
    audio, imgs = torch.randn(2, 1024, 128), torch.randn(2, 1, 3, 224, 224)
    with torch.no_grad():
        expected = tiny_finetune.backbone.extract_embeddings(
            audio, imgs[:, 0], with_tokens=True)
        for mode in MODES:
            tiny_finetune.mode = mode
            out = tiny_finetune.extract_embeddings(
                dict(audio=audio, imgs=imgs), with_tokens=True)
            assert set(out) == set(expected)
            for name in out:
                assert torch.equal(out[name], expected[name])
