"""The inference pipeline: the config's test pipeline, fed one input.

As MMAction2's ``inference_recognizer`` does, inference builds the
transforms of the config's ``test_pipeline`` (else
``test_dataloader.dataset.pipeline``; for a pre-training config the
retrieval set's), so a change to the config changes ``tools/test.py`` and
the API alike. Only the loaders' input is swapped: a video file becomes
``filename``; an ``(audio, image)`` pair ``audio_path`` + ``image_path``,
with the clip's frame loaders (``SampleAVFrames``, ``LoadAVFrames``)
replaced by ``LoadStillImage``; a ``data_info`` dict is used as it is.

To load only some modalities (a clip without an audio track, an audio-only
mode) the transforms are split by the model input each builds
(:func:`~cavmae_mm.datasets.transforms.model_inputs.model_input_of`): those
of a modality that is not loaded are skipped, the others run in the
config's order, and ``PackActionInputs`` collects the loaded inputs only.
Nothing else is filtered: a training-only transform in a test pipeline runs.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmaction.datasets.transforms import PackActionInputs
from mmaction.registry import TRANSFORMS
from ..datasets.av_io import AVDataError
from ..datasets.transforms import LoadStillImage, SampleAVFrames
from ..datasets.transforms.model_inputs import frame_source_of, model_input_of
from ..models.modes import MODALITY_NAMES
from .inputs import (ModalityError, VideoOrPair, available_modalities,
                     describe_source, item_to_data_info)

#: ``AVDataError.reason`` of a container without that kind of track.
MISSING_TRACK_REASONS = {'audio': ('no audio track', ),
                         'imgs': ('no video track', )}
#: The ``frames`` choices besides a frame position.
FRAME_CHOICES = ('middle', 'all')

Step = Tuple[object, Optional[str]]  # (transform, model input it builds)


def get_test_pipeline(cfg) -> List:
    """The transform configs of ``cfg``'s test pipeline (a copy).

    Args:
        cfg (Config): A full config (model and data).

    Returns:
        list: ``cfg.test_pipeline`` if present, else
        ``cfg.test_dataloader.dataset.pipeline``.

    Raises:
        ValueError: No config, or a config without a test pipeline (e.g.
            a model-only ``_base_`` file).
    """
    if cfg is None:
        raise ValueError('the model has no config (model.cfg); build it '
                         'with cavmae_mm.apis.init_model')
    pipeline = cfg.get('test_pipeline')
    if pipeline is None:
        dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
        pipeline = dataset.get('pipeline')
    if not pipeline:
        raise ValueError(
            'the config has no test pipeline (test_pipeline or '
            'test_dataloader.dataset.pipeline): inference builds its inputs '
            'from it, as tools/test.py does. Use a full config (model and '
            'data), not a model-only _base_ file')
    return copy.deepcopy(list(pipeline))


def _check_frames(frames) -> None:
    if frames is None or frames in FRAME_CHOICES or (
            isinstance(frames, int) and not isinstance(frames, bool)):
        return
    raise ValueError(f'frames must be None (the config\'s), one of '
                     f'{FRAME_CHOICES} or a position, got {frames!r}')


class InferencePipeline:
    """Turns one input into the packed sample a model's ``test_step``
    takes, with the transforms of a test pipeline, loading the wanted
    modalities and noting those that are missing.

    Args:
        pipeline (Sequence[dict | callable]): The test pipeline's
            transforms (configs, built from MMAction2's ``TRANSFORMS``, or
            transforms).
        frames (str | int, optional): ``SampleAVFrames``' mode:
            ``'middle'`` (position 5 of 10, the reference's evaluation),
            ``'all'`` (the multi-frame ensemble) or a position. None keeps
            the pipeline's. Defaults to None.
    """

    def __init__(self, pipeline: Sequence,
                 frames: Union[None, str, int] = None) -> None:
        _check_frames(frames)
        transforms = [
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in pipeline
        ]
        if frames is not None:
            transforms = self._with_frames(transforms, frames)
        self.frames = frames
        self.clip_steps: List[Step] = [(t, model_input_of(t))
                                       for t in transforms]
        self.image_steps = self._with_still_image(self.clip_steps)
        self._packers: Dict[Tuple[int, Tuple[str, ...]], object] = {}

    @classmethod
    def from_config(cls, cfg, frames: Union[None, str, int] = None
                    ) -> 'InferencePipeline':
        """The pipeline of a config's test pipeline (see
        :func:`get_test_pipeline`)."""
        return cls(get_test_pipeline(cfg), frames)

    @classmethod
    def of_model(cls, model, frames: Union[None, str, int] = None
                 ) -> 'InferencePipeline':
        """The pipeline of ``model.cfg`` (set by
        :func:`~cavmae_mm.apis.init_model`)."""
        return cls.from_config(getattr(model, 'cfg', None), frames)

    @staticmethod
    def _with_frames(transforms: List, frames: Union[str, int]) -> List:
        """``transforms`` with every ``SampleAVFrames`` set to ``frames``."""
        if not any(isinstance(t, SampleAVFrames) for t in transforms):
            raise ValueError(f'frames={frames!r} sets the mode of '
                             f'SampleAVFrames, but the test pipeline has '
                             f'none')
        return [
            SampleAVFrames(mode=frames, num_positions=t.num_positions)
            if isinstance(t, SampleAVFrames) else t for t in transforms
        ]

    @staticmethod
    def _with_still_image(steps: List[Step]) -> List[Step]:
        """``steps`` with the clip's frame loaders replaced by one
        ``LoadStillImage`` (where the first of them was); without any, no
        visual step can run on an image."""
        out: List[Step] = []
        for transform, model_input in steps:
            if frame_source_of(transform) == 'clip':
                if not any(isinstance(t, LoadStillImage) for t, _ in out):
                    out.append((LoadStillImage(), 'imgs'))
                continue
            out.append((transform, model_input))
        if not any(frame_source_of(t) == 'image' for t, _ in out):
            out = [step for step in out if step[1] != 'imgs']
        return out

    def _packer(self, pack: PackActionInputs, loaded: Tuple[str, ...]):
        """``pack`` collecting only the ``loaded`` model inputs (other
        collected keys are kept)."""
        if pack.collect_keys is None:
            return pack
        key = (id(pack), loaded)
        if key not in self._packers:
            packer = copy.copy(pack)
            packer.collect_keys = tuple(
                k for k in pack.collect_keys
                if k not in MODALITY_NAMES or k in loaded)
            self._packers[key] = packer
        return self._packers[key]

    def __call__(self,
                 item: VideoOrPair,
                 modalities: Sequence[str] = ('audio', 'imgs'),
                 allow_missing: bool = True) -> Tuple[Dict, Dict[str, str]]:
        """Load ``modalities`` of ``item``.

        Args:
            item (str | Path | tuple | dict): See
                :func:`~cavmae_mm.apis.inputs.item_to_data_info`.
            modalities (Sequence[str]): Wanted, of ``'audio'``, ``'imgs'``.
                Defaults to both.
            allow_missing (bool): A modality the input does not have (not
                given, or a container without that track) is skipped and
                reported instead of raising. Defaults to True.

        Returns:
            tuple[dict, dict]: What the pipeline returns (``inputs`` with
            the loaded ``audio`` and/or ``imgs``, ``data_samples`` with
            ``video_id``), and ``{modality: reason}`` of the missing ones.

        Raises:
            ModalityError: A wanted modality is missing and
                ``allow_missing`` is False, or none could be loaded.
            AVDataError: A file cannot be decoded.
        """
        unknown = [m for m in modalities if m not in MODALITY_NAMES]
        if unknown:
            raise ValueError(f'unknown modalities {unknown}, expected some '
                             f'of {list(MODALITY_NAMES)}')
        info = item_to_data_info(item)
        source = describe_source(info)
        steps = self.image_steps if info.get('image_path') else \
            self.clip_steps
        built = {model_input for _, model_input in steps}
        given = available_modalities(info)
        wanted = [m for m in MODALITY_NAMES if m in modalities]
        missing = {}
        for modality in wanted:
            if modality not in given:
                missing[modality] = 'not given'
            elif modality not in built:
                missing[modality] = 'not in the test pipeline'
        loading = [m for m in wanted if m not in missing]
        self._check(source, wanted, loading, missing, allow_missing)
        results = dict(info)
        for transform, model_input in steps:
            if model_input is not None and model_input not in loading:
                continue
            if isinstance(transform, PackActionInputs):
                transform = self._packer(transform, tuple(loading))
            try:
                results = transform(results)
            except AVDataError as err:
                if model_input is None or \
                        err.reason not in MISSING_TRACK_REASONS[model_input]:
                    raise
                missing[model_input] = err.reason
                loading.remove(model_input)
                self._check(source, wanted, loading, missing, allow_missing)
                continue
            if results is None:
                raise RuntimeError(f'{transform!r} dropped {source}')
        sample = results.get('data_samples')
        if sample is not None and 'video_id' not in sample:
            sample.set_metainfo(dict(video_id=info['video_id']))
        return results, missing

    @staticmethod
    def _check(source: str, wanted: List[str], loading: List[str],
               missing: Dict[str, str], allow_missing: bool) -> None:
        """Raise ``ModalityError`` when a missing modality is not allowed
        or nothing is left to load."""
        reasons = ', '.join(f'{MODALITY_NAMES[m]} ({reason})'
                            for m, reason in missing.items())
        if missing and not allow_missing:
            raise ModalityError(f'{source}: missing {reasons}')
        if not loading:
            raise ModalityError(
                f'{source}: none of the wanted modalities '
                f'{[MODALITY_NAMES[m] for m in wanted]} could be loaded: '
                f'{reasons}')

    def __repr__(self) -> str:
        steps = ''.join(f'\n    {t!r}  [{m or "-"}]'
                        for t, m in self.clip_steps)
        return f'{self.__class__.__name__}(frames={self.frames!r},{steps})'
