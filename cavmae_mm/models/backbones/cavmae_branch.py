"""One branch of the CAV-MAE encoder as a plain MMAction2 backbone."""
from typing import Tuple

import torch

from mmaction.registry import MODELS
from .cavmae_vit import CAVMAEViT


class _CAVMAEBranch(CAVMAEViT):
    """A ``CAVMAEViT`` that encodes one modality and returns its tokens as a
    ``[N, D, rows, cols]`` feature map, the input MMAction2's heads
    (``TSNHead``, ``TSNAudioHead``) pool and classify. Their spatial average
    is the mean over tokens, CAV-MAE's pooling.

    Parameter names are those of ``CAVMAEViT``, so a CAV-MAE checkpoint
    (pre-trained or fine-tuned) loads with ``load_from`` or
    ``init_cfg=dict(type='Pretrained', prefix='backbone.', ...)``; the
    parameters the branch never uses (the other modality and its cls token,
    Sync's contrastive heads, the norms it does not use: the joint ones, or
    its own with ``unimodal_norms='joint'``) are frozen, so optimizers and
    DDP skip them.

    Args:
        **kwargs: ``CAVMAEViT`` arguments.
    """
    modality = ''  # 'a' or 'v'
    # Parameters outside this branch's path, by name prefix and suffix.
    unused_prefixes: Tuple[str, ...] = ()

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        other = 'v' if self.modality == 'a' else 'a'
        for name, param in self.named_parameters():
            if self._unused(name, other):
                param.requires_grad_(False)

    def _unused(self, name: str, other: str) -> bool:
        joint = self.unimodal_norms == 'joint'
        if name.startswith(self.unused_prefixes + ('contrastive_head_', )):
            return True
        if name.startswith(('norm_a.', 'norm_v.', 'norm.')):
            used = 'norm.' if joint else f'norm_{self.modality}.'
            return not name.startswith(used)
        if name in ('cls_token_a', 'cls_token_v'):
            return name != f'cls_token_{self.modality}'
        if name.startswith('blocks_u.'):
            norm = name.split('.')[2]
            used = ('norm1', 'norm2') if joint else (
                f'norm1_{self.modality}', f'norm2_{self.modality}')
            return norm.startswith('norm') and norm not in used
        return False


@MODELS.register_module()
class CAVMAEAudioBranch(_CAVMAEBranch):
    """The audio path of CAV-MAE (SPEC §3 ``audioonly``) for MMAction2's
    ``RecognizerAudio``: input ``[N, 1, T, F]`` (MMAction2's ``NCTF`` audio
    layout) or ``[N, T, F]``, output ``[N, D, F/16, T/16]``.
    """
    modality = 'a'
    unused_prefixes = ('patch_embed_v.', 'pos_embed_v', 'modality_v',
                       'blocks_v.')

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        if audio.ndim == 4:
            if audio.shape[1] != 1:
                raise ValueError(f'expected [N, 1, T, F] audio, got '
                                 f'{list(audio.shape)}')
            audio = audio[:, 0]
        tokens = self.forward_tokens(audio=audio, mode='audioonly')['audio']
        # [N, rows * cols, D] -> [N, D, rows, cols], frequency-major
        return tokens.transpose(1, 2).reshape(tokens.shape[0], -1,
                                              *self.grid_a)


@MODELS.register_module()
class CAVMAEVisualBranch(_CAVMAEBranch):
    """The visual path of CAV-MAE (SPEC §3 ``videoonly``) for MMAction2's
    ``Recognizer2D``: input ``[N, 3, H, W]`` frames, output
    ``[N, D, H/16, W/16]``.
    """
    modality = 'v'
    unused_prefixes = ('patch_embed_a.', 'pos_embed_a', 'modality_a',
                       'blocks_a.')

    def forward(self, imgs: torch.Tensor) -> torch.Tensor:
        tokens = self.forward_tokens(imgs=imgs, mode='videoonly')['visual']
        # [N, rows * cols, D] -> [N, D, rows, cols]
        return tokens.transpose(1, 2).reshape(tokens.shape[0], -1,
                                              *self.grid_v)
