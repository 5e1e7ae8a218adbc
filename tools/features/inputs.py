"""The inputs of ``tools/extract_features.py``: annotation items, media files
(probed with PyAV), folders and globs, as ``data_info`` dicts, and the data
set that loads them with an ``InferencePipeline`` in data-loader workers."""
import glob
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple


class AnnotationItems:
    """The items of an annotation, loaded by an ``InferencePipeline``; a
    failing item comes back as its error (so a worker never dies on it and
    the main process decides).

    Args:
        infos (list[dict]): ``data_info`` of each item.
        loader (InferencePipeline): Turns an item into a packed sample.
        modalities (Sequence[str]): Wanted modalities (a missing one is
            noted in the record's ``missing``).
    """

    def __init__(self, infos: List[Dict], loader, modalities) -> None:
        self.infos = infos
        self.loader = loader
        self.modalities = tuple(modalities)

    def __len__(self) -> int:
        return len(self.infos)

    def __getitem__(self, index: int) -> Dict:
        try:
            data, missing = self.loader(self.infos[index], self.modalities,
                                        allow_missing=True)
        except Exception as err:  # reported by the main process
            return dict(index=index, error=f'{type(err).__name__}: {err}')
        return dict(index=index, data=data, missing=missing)


def collate(batch: List[Dict]) -> List[Dict]:
    return batch


def read_items(ann_file: str, data_root: Optional[str],
               source: str) -> List[Dict]:
    """``data_info`` dicts of an annotation (the dataset's parser)."""
    from cavmae_mm.datasets.av_dataset import parse_entry, read_annotation
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file not found: {ann_file}')
    root = data_root or osp.dirname(osp.abspath(ann_file))
    return [
        parse_entry(entry, source, root, f'{ann_file}: item {i}')
        for i, entry in enumerate(read_annotation(ann_file))
    ]


#: Inputs read as an annotation, by extension.
ANNOTATION_EXTENSIONS = ('.json', '.txt', '.csv', '.list')
#: Inputs read as a still frame, by extension.
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def probe_media(path: str) -> Tuple[Optional[Dict], Optional[str]]:
    """The ``data_info`` of a media file, or why it is not one: an image is
    a still frame; a container with a video track a clip (its audio track,
    if any, decoded by the pipeline); with only an audio track audio."""
    from cavmae_mm.apis.inputs import item_to_data_info
    if path.lower().endswith(IMAGE_EXTENSIONS):
        return item_to_data_info((None, path)), None
    import av
    try:
        with av.open(path) as container:
            has_video = bool(container.streams.video)
            has_audio = bool(container.streams.audio)
    except Exception as err:  # PyAV raises several types for non-media
        return None, f'not a media file ({type(err).__name__}: {err})'
    if has_video:
        return item_to_data_info(path), None
    if has_audio:
        return item_to_data_info((path, None)), None
    return None, 'not a media file (no audio or video track)'


def expand_input(spec: str) -> List[str]:
    """The files of a glob, a folder (recursively, sorted) or a file."""
    if glob.has_magic(spec):
        paths = sorted(glob.glob(spec, recursive=True))
        if not paths:
            raise FileNotFoundError(f'no file matches {spec}')
        return [p for path in paths for p in expand_input(path)]
    if osp.isdir(spec):
        return sorted(
            osp.join(folder, name) for folder, _, names in os.walk(spec)
            for name in names)
    if not osp.isfile(spec):
        raise FileNotFoundError(f'input not found: {spec}')
    return [spec]


def gather_items(specs: List[str], data_root: Optional[str],
                 source: str) -> Tuple[List[Dict], Dict[int, str]]:
    """``data_info`` of every item of the inputs, in order, and the reason
    of each file that is not media (by index; its info has no source). A
    file's id is its name without extension, or its path where two files
    share a name."""
    infos: List[Dict] = []
    rejected: Dict[int, str] = {}
    file_paths: Dict[int, str] = {}
    for spec in specs:
        if not glob.has_magic(spec) and not osp.isdir(spec) and \
                spec.lower().endswith(ANNOTATION_EXTENSIONS):
            infos += read_items(spec, data_root, source)
            continue
        for path in expand_input(spec):
            info, reason = probe_media(path)
            if info is None:
                rejected[len(infos)] = f'{path}: {reason}'
                info = dict(video_id=osp.splitext(osp.basename(path))[0])
            file_paths[len(infos)] = path
            infos.append(info)
    names = [info['video_id'] for info in infos]
    for index, path in file_paths.items():
        if names.count(names[index]) > 1:
            infos[index]['video_id'] = osp.splitext(path)[0]
    return infos, rejected


def describe_missing(missing: Dict[str, str]) -> str:
    from cavmae_mm.models.modes import MODALITY_NAMES
    return ', '.join(f'{MODALITY_NAMES[m]} ({reason})'
                     for m, reason in missing.items())
