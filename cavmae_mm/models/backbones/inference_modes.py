"""The inference modes of the CAV-MAE encoder (SPEC §3; Sync's
fine-tuning options in docs/sync.md): unmasked token features and the
pooled clip feature of each mode."""
from typing import Dict, Optional

import torch

from ..modes import MODE_INPUTS, check_mode


class InferenceModesMixin:
    """``forward_tokens`` / ``forward`` of :class:`CAVMAEViT` for the modes
    of :mod:`cavmae_mm.models.modes`. The host provides the embeddings,
    ``shared``, ``unimodal_norms``, ``multimodal_feature`` and the token
    streams of
    :class:`~cavmae_mm.models.utils.extra_tokens.ExtraTokensMixin`.
    """

    def feature_dims(self, mode: str) -> int:
        """Channels of :meth:`forward`'s feature in ``mode``: ``2D`` for
        Sync's multimodal ``'cls'`` / ``'mean'``, else ``D``."""
        if check_mode(mode) == 'multimodal' and \
                self.multimodal_feature != 'joint_mean':
            return 2 * self.embed_dims
        return self.embed_dims

    def _norms(self, modality: str) -> str:
        """The norm set of the single-modality modes (``unimodal_norms``).
        """
        return modality if self.unimodal_norms == 'modality' else 'joint'

    def _single(self, tokens: torch.Tensor, modality: str,
                norms: str) -> Dict[str, torch.Tensor]:
        """One modality's encoded sequence through the shared blocks and a
        final norm (``norms``: ``'joint'`` or the modality's own), split
        into patch tokens and, with ``cls_token``, the cls token."""
        tokens = self.shared(tokens, norms)
        cls, patches = self.split_extra_tokens(tokens)
        name = 'audio' if modality == 'a' else 'visual'
        out = {name: patches}
        if cls is not None:
            out[name + '_cls'] = cls
        return out

    def forward_tokens(self,
                       audio: Optional[torch.Tensor] = None,
                       imgs: Optional[torch.Tensor] = None,
                       mode: str = 'multimodal') -> Dict[str, torch.Tensor]:
        """Unmasked token features of an inference ``mode``.

        ``imgs`` may hold ``k`` frames per audio clip (``[k * B, 3, H, W]``,
        clip-major): the audio is then encoded once and paired with each
        frame.

        Returns:
            dict: ``joint`` ``[B', La + Lv, D]`` (multimodal), ``audio``
            ``[B, La, D]`` and/or ``visual`` ``[B', Lv, D]`` as the mode
            produces them (patch tokens only), and with ``cls_token``
            ``audio_cls`` / ``visual_cls`` ``[B, D]``; multimodal with
            ``multimodal_feature`` ``'cls'`` / ``'mean'``:
            ``audio_specific`` / ``visual_specific`` ``[B', c + L (+ R),
            D]``, the modality blocks' outputs (the shared layers unused).
        """
        check_mode(mode)
        given = {'audio': audio, 'imgs': imgs}
        missing = [k for k in MODE_INPUTS[mode] if given[k] is None]
        if missing:
            raise ValueError(f'mode {mode!r} needs input(s) {missing}')

        out = {}
        if mode == 'multimodal':
            audio_tokens = self.encode_modality(self.embed_audio(audio), 'a')
            visual_tokens = self.encode_modality(self.embed_visual(imgs),
                                                 'v')
            views = visual_tokens.shape[0] // audio_tokens.shape[0]
            if views * audio_tokens.shape[0] != visual_tokens.shape[0]:
                raise ValueError(
                    f'{imgs.shape[0]} images for {audio.shape[0]} audio '
                    f'clips: expected a whole number of frames per clip')
            if views > 1:
                audio_tokens = audio_tokens.repeat_interleave(views, dim=0)
            if self.multimodal_feature == 'joint_mean':
                out['joint'] = self.joint_stream(audio_tokens, visual_tokens)
            else:
                out['audio_specific'] = audio_tokens
                out['visual_specific'] = visual_tokens
        elif mode in ('audioonly', 'missingaudioonly'):
            audio_tokens = self.encode_modality(self.embed_audio(audio), 'a')
            out.update(self._single(audio_tokens, 'a', self._norms('a')))
            if mode == 'missingaudioonly':
                out['joint'] = self._single(audio_tokens, 'a',
                                            'joint')['audio']
        else:  # videoonly, missingvideoonly
            visual_tokens = self.encode_modality(self.embed_visual(imgs),
                                                 'v')
            out.update(self._single(visual_tokens, 'v', self._norms('v')))
            if mode == 'missingvideoonly':
                out['joint'] = self._single(visual_tokens, 'v',
                                            'joint')['visual']
        return out

    def forward(self,
                audio: Optional[torch.Tensor] = None,
                imgs: Optional[torch.Tensor] = None,
                mode: str = 'multimodal') -> torch.Tensor:
        """Pooled clip feature ``[B, C]`` (:meth:`feature_dims`) of an
        inference ``mode``.

        ``multimodal``: mean over the joint tokens (or Sync's
        ``multimodal_feature``); ``audioonly`` / ``videoonly``: one
        modality's tokens through the shared layers with that modality's
        norms (``unimodal_norms``), then the cls token (``cls_token``) or
        the mean; ``missingaudioonly`` / ``missingvideoonly``: the average
        of the two means (joint norms and the modality's own norms) for a
        model fine-tuned multimodally.
        """
        tokens = self.forward_tokens(audio, imgs, mode)
        if mode == 'multimodal':
            if self.multimodal_feature == 'joint_mean':
                return tokens['joint'].mean(dim=1)
            pooled = []
            for name in ('audio_specific', 'visual_specific'):
                cls, patches = self.split_extra_tokens(tokens[name])
                pooled.append(cls if self.multimodal_feature == 'cls' else
                              patches.mean(dim=1))
            return torch.cat(pooled, dim=-1)  # [B, 2D]
        name = 'audio' if 'audio' in tokens else 'visual'
        single = tokens[name]
        if mode.startswith('missing'):
            return (tokens['joint'].mean(dim=1) + single.mean(dim=1)) / 2
        if self.cls_token:
            return tokens[name + '_cls']
        return single.mean(dim=1)
