"""Pre-extraction of videos into the reference's layout.

``<out>/frames/frame_<i>/<video_id>.jpg`` (10 frames, short side resized to
224 then center-cropped to 224 x 224, the same code as the raw-video
pipeline) and ``<out>/audio/<video_id>.wav`` (16 kHz mono 16-bit PCM, the
first channel, as ``ffmpeg -ar 16000`` + ``sox remix 1``).
"""
import os
import os.path as osp
import re
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Dict, List, Optional, Tuple

from cavmae_mm.datasets.av_io import (NUM_FRAME_POSITIONS, TARGET_SAMPLE_RATE,
                                      AVDataError, frame_jpeg_path,
                                      init_worker_process, read_audio,
                                      read_video_frames, write_wav)


def clip_outputs(out_dir: str, video_id: str,
                 num_positions: int = NUM_FRAME_POSITIONS
                 ) -> Tuple[str, str, List[str]]:
    """``(frames root, wav path, jpeg paths)`` of one clip."""
    frame_root = osp.join(out_dir, 'frames')
    wav = osp.join(out_dir, 'audio', f'{video_id}.wav')
    jpegs = [
        frame_jpeg_path(frame_root, video_id, i) for i in range(num_positions)
    ]
    return frame_root, wav, jpegs


# What extract_clip and write_wav write before the rename:
# ``<file>.tmp<pid>.jpg`` / ``<file>.tmp<pid>.wav``.
_TEMPORARY = re.compile(r'\.tmp(\d+)\.(jpg|wav)$')


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def remove_stale_temporaries(out_dir: str, min_age: float = 60.0) -> int:
    """Delete the temporary files that a killed extraction left under
    ``out_dir`` (its frames and audio folders).

    A temporary file is renamed within milliseconds of being written, so
    one whose writing process is gone, or that is older than ``min_age``
    seconds (its process id reused since), is stale; a live run's
    fresh ones are left alone. Its clip, missing that file, is extracted
    again by the run.

    Args:
        out_dir (str): Output root.
        min_age (float): Age in seconds past which a temporary file of a
            running process id is stale too. Defaults to 60.

    Returns:
        int: Number of files removed.
    """
    removed = 0
    now = time.time()
    folders = [osp.join(out_dir, 'audio')]
    frame_root = osp.join(out_dir, 'frames')
    if osp.isdir(frame_root):
        folders += [
            osp.join(frame_root, name)
            for name in sorted(os.listdir(frame_root))
        ]
    for folder in folders:
        if not osp.isdir(folder):
            continue
        with os.scandir(folder) as listing:
            for item in listing:
                match = _TEMPORARY.search(item.name)
                if match is None or not item.is_file():
                    continue
                try:
                    stale = (not _process_alive(int(match.group(1)))
                             or now - item.stat().st_mtime > min_age)
                    if stale:
                        os.remove(item.path)
                        removed += 1
                except FileNotFoundError:
                    pass  # renamed or removed meanwhile
    return removed


def resize_and_crop(frames, size: int = 224, backend: str = 'pillow'):
    """Short side to ``size`` (bicubic), center crop ``size`` x ``size`` --
    the pipeline's ``AVResize`` + ``CenterCrop``."""
    from mmaction.datasets.transforms import CenterCrop
    from cavmae_mm.datasets.transforms.processing import AVResize
    results = dict(imgs=list(frames), img_shape=frames[0].shape[:2])
    results = AVResize(scale=(-1, size), backend=backend)(results)
    results = CenterCrop(crop_size=size)(results)
    return results['imgs']


def extract_clip(video: str,
                 out_dir: str,
                 video_id: str,
                 size: int = 224,
                 jpeg_quality: int = 75,
                 num_positions: int = NUM_FRAME_POSITIONS,
                 overwrite: bool = False,
                 threads: int = 1) -> str:
    """Extract one video; resumable (a finished clip is skipped).

    Every file is written to a temporary name and renamed, so an
    interrupted run never leaves a half-written file behind.

    Args:
        video (str): Input video.
        out_dir (str): Output root.
        video_id (str): Output file stem.
        size (int): Frame size. Defaults to 224.
        jpeg_quality (int): JPEG quality; 75 is PIL's default, which the
            reference's ``save_image`` used. Defaults to 75.
        num_positions (int): Frames per clip. Defaults to 10.
        overwrite (bool): Redo finished clips. Defaults to False.
        threads (int): Video decoder threads. Defaults to 1.

    Returns:
        str: ``'done'`` or ``'skipped'``.

    Raises:
        AVDataError: The video cannot be used (with the reason).
    """
    from PIL import Image
    frame_root, wav, jpegs = clip_outputs(out_dir, video_id, num_positions)
    if not overwrite and all(osp.exists(p) for p in jpegs + [wav]):
        return 'skipped'
    # Decode both before writing anything: a clip is either all there or
    # not at all.
    waveform, _ = read_audio(video, TARGET_SAMPLE_RATE)
    frames, _, _ = read_video_frames(
        video, list(range(num_positions)), num_positions, threads=threads)
    frames = resize_and_crop(frames, size)
    for path, frame in zip(jpegs, frames):
        os.makedirs(osp.dirname(path), exist_ok=True)
        tmp_path = f'{path}.tmp{os.getpid()}.jpg'
        Image.fromarray(frame).save(tmp_path, quality=jpeg_quality)
        os.replace(tmp_path, path)
    os.makedirs(osp.dirname(wav), exist_ok=True)
    write_wav(wav, waveform, TARGET_SAMPLE_RATE)
    return 'done'


def _extract_job(job: Dict) -> Tuple[str, Optional[str]]:
    try:
        status = extract_clip(**job['kwargs'])
        return status, None
    except AVDataError as err:
        return 'failed', err.reason
    except Exception as err:  # anything else: report, never stop
        return 'failed', f'{type(err).__name__}: {err}'


def _run_isolated(job: Dict) -> Tuple[str, Optional[str]]:
    """Run one job in a fresh process of its own."""
    try:
        with ProcessPoolExecutor(
                1, initializer=init_worker_process) as solo:
            return solo.submit(_extract_job, job).result()
    except BrokenProcessPool:
        return 'failed', 'the decoder crashed the worker process'


def extract_clips(items: List[Dict],
                  out_dir: str,
                  workers: int = 1,
                  progress: bool = True,
                  **clip_kwargs) -> Tuple[List[Dict], List[Dict]]:
    """Extract many clips in parallel, never stopping on one bad file.

    A worker process that crashes (a decoder segfault) breaks the pool; the
    clips it was running are then retried one at a time in a fresh process
    each, so the culprit is found and reported and the others finish. The
    temporary files of an earlier, killed run are removed first
    (:func:`remove_stale_temporaries`).

    Args:
        items (list[dict]): ``{"video", "video_id", "labels"}`` each.
        out_dir (str): Output root.
        workers (int): Parallel processes (0 or 1: in this process).
            Defaults to 1.
        progress (bool): Report clips done / total with an ETA (a bar on a
            terminal, log lines otherwise). Defaults to True.
        **clip_kwargs: Passed to :func:`extract_clip`.

    Returns:
        tuple[list[dict], list[dict]]: Annotation entries of the extracted
        clips (input order; ``wav``, ``video_path``, ``video_id``,
        ``labels``, ``video``, ``status``) and failures (``video``,
        ``video_id``, ``reason``).
    """
    from mmengine.logging import print_log

    from cavmae_mm.utils.progress import ProgressReporter
    removed = remove_stale_temporaries(out_dir)
    if removed:
        print_log(
            f'Removed {removed} temporary files of an interrupted '
            f'extraction in {out_dir}; their clips are extracted again',
            logger='current')
    jobs = [
        dict(
            index=i,
            kwargs=dict(
                video=item['video'],
                out_dir=out_dir,
                video_id=item['video_id'],
                **clip_kwargs)) for i, item in enumerate(items)
    ]
    results: Dict[int, Tuple[str, Optional[str]]] = {}
    bar = ProgressReporter(len(jobs), desc='extract clips', enabled=progress)
    if workers <= 1:
        for job in jobs:
            results[job['index']] = _extract_job(job)
            bar.update()
    else:
        remaining = jobs
        while remaining:
            try:
                with ProcessPoolExecutor(
                        workers, initializer=init_worker_process) as pool:
                    futures = {
                        pool.submit(_extract_job, job): job
                        for job in remaining
                    }
                    for future in as_completed(futures):
                        job = futures[future]
                        results[job['index']] = future.result()
                        bar.update()
                remaining = []
            except BrokenProcessPool:
                remaining = [
                    job for job in remaining if job['index'] not in results
                ]
                # The pool runs jobs in submission order: the crasher is
                # among the first unfinished ones. Run those alone.
                for job in remaining[:workers + 1]:
                    results[job['index']] = _run_isolated(job)
                    bar.update()
                remaining = remaining[workers + 1:]
    bar.close()

    entries, failures = [], []
    for job, item in zip(jobs, items):
        status, reason = results[job['index']]
        if status == 'failed':
            failures.append(
                dict(video=item['video'], video_id=item['video_id'],
                     reason=reason))
            continue
        frame_root, wav, _ = clip_outputs(out_dir, item['video_id'],
                                          clip_kwargs.get(
                                              'num_positions',
                                              NUM_FRAME_POSITIONS))
        entries.append(
            dict(
                video_id=item['video_id'],
                wav=wav,
                video_path=frame_root,
                labels=item.get('labels', ''),
                video=item['video'],
                status=status))
    return entries, failures
