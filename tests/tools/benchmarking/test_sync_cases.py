"""The CAV-MAE Sync benchmark cases (tools/benchmarking/model_cases.py):
the FLOPs credited to a step are the model's, counted token by token: the
cls and register tokens in the attention and MLPs, every frame of a clip,
against the formula of a ViT (tiny model, one step each, not timed)."""
import pytest

from tools.benchmarking.measure import count_flops
from tools.benchmarking.model_cases import (FRAMES_PER_CLIP,
                                            build_case_model, run_model_case)

D, DEC = 64, 32  # the tiny model's widths
AUDIO, VISUAL, R = 8 * 26, 14 * 14, 8  # 416-row segments, 224 frames


def block(tokens, dim=D):
    """One transformer block: qkv, proj and the 4x MLP (24 n d^2), scores
    and weighted sum (4 n^2 d)."""
    return 24 * tokens * dim * dim + 4 * tokens * tokens * dim


PATCHES = 2 * AUDIO * D * 256 + 2 * VISUAL * D * 768  # patch embeddings


@pytest.fixture(scope='module')
def sync_model():
    return build_case_model('tiny', 'sync-pretrain', 'cpu')


def test_retrieval_embedding_counts_every_frame_and_token(sync_model):
    """Per frame: [cls, patches, 8 registers] through the 2 modality
    blocks, registers dropped, the shared block per modality."""
    clips = 2
    step = run_model_case(sync_model, 'infer-sync-retrieval', 'reference',
                          'fp32', clips, 'cpu')
    per_frame = (PATCHES + 2 * block(1 + AUDIO + R) +
                 2 * block(1 + VISUAL + R) + block(1 + AUDIO) +
                 block(1 + VISUAL))
    frames = FRAMES_PER_CLIP['infer-sync-retrieval']
    assert frames == 16
    assert sum(count_flops(step).values()) == clips * frames * per_frame


def test_pretrain_step_counts_cls_registers_and_backward(sync_model):
    """Forward (75 % masked: 52 audio, 49 visual patches kept) and
    backward (twice the forward, but no input gradient of the patch
    embeddings) of one pre-training step."""
    clips = 2
    step = run_model_case(sync_model, 'sync-pretrain', 'reference', 'fp32',
                          clips, 'cpu')
    kept_a, kept_v = AUDIO // 4, VISUAL // 4
    encoder = (PATCHES + 2 * block(1 + kept_a + R) +
               2 * block(1 + kept_v + R) +
               block(kept_a + kept_v) +  # joint stream: no cls, no registers
               block(1 + kept_a) + block(1 + kept_v))  # contrastive stream
    decoder = (2 * (kept_a + kept_v) * D * DEC + block(AUDIO + VISUAL, DEC)
               + 2 * AUDIO * DEC * 256 + 2 * VISUAL * DEC * 768)
    contrastive = 2 * clips * D  # the similarities of one clip's row
    forward = clips * (encoder + decoder + contrastive)
    assert sum(count_flops(step).values()) == \
        3 * forward - clips * PATCHES
