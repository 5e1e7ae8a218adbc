"""Encoding one clip as a shard sample (``tools/data/make_shards.py``): the
worker processes' side, importable as ``tools.data.sharding``."""
import json
import os.path as osp


def _is_plain_wav(path):
    """16 kHz mono PCM16 wav: what the pipeline would read anyway."""
    import soundfile
    try:
        info = soundfile.info(path)
    except Exception:
        return False
    return (info.format == 'WAV' and info.samplerate == 16000
            and info.channels == 1 and info.subtype == 'PCM_16')


def encode_clip(job):
    """``(sample dict, None)`` or ``(None, reason)`` of one clip."""
    from PIL import Image

    from cavmae_mm.datasets.av_io import (TARGET_SAMPLE_RATE, AVDataError,
                                          frame_jpeg_path, read_audio,
                                          read_video_frames, wav_bytes)
    from cavmae_mm.datasets.shards.index import frame_suffix, shard_key
    positions = range(job['num_positions'])
    try:
        if job.get('audio_path'):
            path = job['audio_path']
            waveform, _ = read_audio(path, TARGET_SAMPLE_RATE)  # validates
            if _is_plain_wav(path):
                with open(path, 'rb') as f:
                    audio = f.read()
            else:
                audio = wav_bytes(waveform)
            frames = {}
            for position in positions:
                jpeg = frame_jpeg_path(job.get('frame_dir') or '',
                                       job['video_id'], position)
                if osp.isfile(jpeg):
                    with Image.open(jpeg) as image:
                        image.verify()
                    with open(jpeg, 'rb') as f:
                        frames[position] = f.read()
            if job.get('frame_dir') and not frames:
                raise AVDataError(job['frame_dir'],
                                  f'no frame_<i>/{job["video_id"]}.jpg')
        else:
            import io

            from tools.data.extraction import resize_and_crop
            video = job['filename']
            waveform, _ = read_audio(video, TARGET_SAMPLE_RATE)
            audio = wav_bytes(waveform)
            decoded, _, _ = read_video_frames(video, list(positions),
                                              job['num_positions'])
            frames = {}
            for position, frame in zip(
                    positions, resize_and_crop(decoded, job['size'])):
                buffer = io.BytesIO()
                Image.fromarray(frame).save(buffer, format='JPEG',
                                            quality=job['jpeg_quality'])
                frames[position] = buffer.getvalue()
    except AVDataError as err:
        return None, f'{err.reason}: {err.path}'
    except Exception as err:  # anything else: report, never stop
        return None, f'{type(err).__name__}: {err}'
    meta = dict(video_id=job['video_id'], labels=job['labels'],
                source=job.get('audio_path') or job.get('filename'))
    sample = {'__key__': shard_key(job['video_id']), 'wav': audio,
              'json': json.dumps(meta).encode('utf-8')}
    for position, data in frames.items():
        sample[frame_suffix(position)] = data
    return sample, None


def encode_job(job):
    """``(job, (sample, reason))``: :func:`encode_clip` of a parsed job, or
    its parse error."""
    if job.get('error'):
        return job, (None, job['error'])
    return job, encode_clip(job)
