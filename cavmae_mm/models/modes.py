"""The inference modes of CAV-MAE (SPEC §3): their names, what each reads
and how a multimodal model does without one modality.

This module is the one owner of these facts: the backbone, the recognizer,
the inference API and every tool import them from here.
"""
from typing import Sequence, Tuple

#: The recognizer / backbone inference modes.
MODES = ('multimodal', 'audioonly', 'videoonly', 'missingaudioonly',
         'missingvideoonly')

#: The inputs (``'audio'`` / ``'imgs'``) each mode reads.
MODE_INPUTS = {
    'multimodal': ('audio', 'imgs'),
    'audioonly': ('audio', ),
    'videoonly': ('imgs', ),
    'missingaudioonly': ('audio', ),
    'missingvideoonly': ('imgs', ),
}

#: How a multimodally fine-tuned model does without one input: the mode
#: that reads only the other one (SPEC §3), keyed by the absent input.
FALLBACK_MODES = {'audio': 'missingvideoonly', 'imgs': 'missingaudioonly'}

#: Names of the inputs in messages.
MODALITY_NAMES = {'audio': 'audio', 'imgs': 'visual'}


#: The norms of the shared layers in the single-modality modes
#: (``CAVMAEViT.unimodal_norms``): the modality's own (CAV-MAE) or the
#: joint ones (CAV-MAE Sync's fine-tuning).
UNIMODAL_NORMS = ('modality', 'joint')

#: The ``multimodal`` mode's pooled feature
#: (``CAVMAEViT.multimodal_feature``).
MULTIMODAL_FEATURES = ('joint_mean', 'cls', 'mean')


def check_choice(name: str, value: str, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise
    ``ValueError`` naming the option and the valid values."""
    if value not in choices:
        raise ValueError(f'{name} must be one of {tuple(choices)}, got '
                         f'{value!r}')
    return value


def check_mode(mode: str) -> str:
    """Return ``mode`` if it is one of :data:`MODES`, else raise
    ``ValueError`` naming the valid ones."""
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    return mode


def uses(mode: str, modality: str) -> bool:
    """Whether ``mode`` reads ``modality`` (``'audio'`` or ``'imgs'``)."""
    return modality in MODE_INPUTS[check_mode(mode)]


def choose_mode(mode: str, present: Sequence[str]) -> Tuple[str, str]:
    """The mode to run when only the ``present`` inputs could be loaded.

    Args:
        mode (str): The wanted (configured) mode.
        present (Sequence[str]): Loaded inputs, of ``'audio'``, ``'imgs'``.

    Returns:
        tuple[str, str]: The mode to run and a note saying what was
        switched (``''`` when nothing was).

    Raises:
        ValueError: The mode cannot do without the missing input.
    """
    needed = MODE_INPUTS[check_mode(mode)]
    absent = [m for m in needed if m not in present]
    if not absent:
        return mode, ''
    if mode == 'multimodal' and len(absent) == 1:
        fallback = FALLBACK_MODES[absent[0]]
        kept = MODALITY_NAMES[MODE_INPUTS[fallback][0]]
        return fallback, (
            f'no {MODALITY_NAMES[absent[0]]} input: using the {kept}-only '
            f'path of the multimodal model (mode {fallback!r})')
    raise ValueError(
        f'mode {mode!r} needs {[MODALITY_NAMES[m] for m in needed]} but the '
        f'input has no {[MODALITY_NAMES[m] for m in absent]}')
