"""extract_av.py accounts for every file of a scanned folder, and a run
cleans up after a killed one."""
import glob
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

from tests.datasets.av_io.clips import write_clip
from tools.data import extraction

ROOT = Path(__file__).resolve().parents[3]

# name -> (muxer, video encoder, audio encoder): formats an extension
# allow-list used to drop without a word (.wmv) or that phones and
# broadcast recorders write.
MEDIA = {
    'lecture.wmv': ('asf', 'wmv2', 'wmav2'),
    'broadcast.ts': ('mpegts', 'libx264', 'aac'),
    'phone.3gp': ('3gp', 'mpeg4', 'aac'),
    'plain.mp4': ('mp4', 'libx264', 'aac'),
}


def load_extract_av():
    name = 'tool_data_extract_av'
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, ROOT / 'tools/data/extract_av.py')
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def write_media(path, muxer, video_codec, audio_codec):
    missing = [name for name, available in (
        (muxer, muxer in av.formats_available),
        (video_codec, video_codec in av.codecs_available),
        (audio_codec, audio_codec in av.codecs_available)) if not available]
    if missing:
        pytest.skip(f'the bundled FFmpeg lacks {missing} (for {path.name})')
    return write_clip(path, list(range(20)), video_codec=video_codec,
                      audio_codec=audio_codec, container_format=muxer)


@pytest.fixture
def mixed_folder(tmp_path):
    """Videos in four containers, a text file, a subtitle file, a binary
    file and a sub-folder with a clip that has no audio track."""
    folder = tmp_path / 'mixed'
    (folder / 'more').mkdir(parents=True)
    for name, formats in MEDIA.items():
        write_media(folder / name, *formats)
    (folder / 'notes.txt').write_text('shot list\n1. intro\n2. outro\n')
    (folder / 'captions.srt').write_text(
        '1\n00:00:00,500 --> 00:00:01,500\nHello.\n')
    # Windows' thumbnail cache: an OLE compound file.
    (folder / 'Thumbs.db').write_bytes(
        bytes.fromhex('d0cf11e0a1b11ae1') + bytes(3000))
    write_clip(folder / 'more/mute.mkv', list(range(20)))
    return folder


def test_every_file_of_a_folder_is_extracted_or_listed(
        tmp_path, mixed_folder, capsys, mmaction_scope):
    tool = load_extract_av()
    out = tmp_path / 'out'
    rc = tool.main([str(mixed_folder), '--out-dir', str(out),
                    '--no-progress'])
    assert rc == 1
    entries = json.load(open(out / 'annotation.json'))['data']
    failures = json.load(open(out / 'extract_failures.json'))
    extracted = {Path(e['video']).name for e in entries}
    listed = {Path(f['video']).name: f['reason'] for f in failures}
    on_disk = {path.name for path in mixed_folder.rglob('*')
               if path.is_file()}
    assert extracted | set(listed) == on_disk
    assert not extracted & set(listed)
    assert extracted == set(MEDIA)
    assert listed['notes.txt'].startswith('cannot open media file')
    assert listed['Thumbs.db'].startswith('cannot open media file')
    assert listed['captions.srt'] == ('not a media file (no audio or video '
                                      'stream; streams: subtitle)')
    assert listed['mute.mkv'] == 'no audio track'
    printed = capsys.readouterr().out
    assert '8 videos: 4 extracted, 0 already done, 4 failed' in printed
    for name in ('lecture', 'broadcast', 'phone', 'plain'):
        assert len(glob.glob(str(out / f'frames/frame_*/{name}.jpg'))) == 10
        assert (out / f'audio/{name}.wav').exists()


def test_output_folder_inside_the_input_folder_is_not_scanned(
        tmp_path, mmaction_scope):
    folder = tmp_path / 'videos'
    folder.mkdir()
    write_clip(folder / 'a.mp4', list(range(20)), audio_codec='aac')
    tool = load_extract_av()
    args = [str(folder), '--out-dir', str(folder / 'extracted'),
            '--no-progress']
    assert tool.main(args) == 0
    assert tool.main(args) == 0  # its frames and wavs are not inputs
    entries = json.load(open(folder / 'extracted/annotation.json'))['data']
    assert [e['video_id'] for e in entries] == ['a']


def test_a_single_video_of_any_extension_is_a_video(tmp_path):
    tool = load_extract_av()
    wmv = write_media(tmp_path / 'talk.wmv', *MEDIA['lecture.wmv'])
    listing = tmp_path / 'list.txt'
    listing.write_text(f'{wmv}\t/m/a\n')
    items = tool.collect_inputs([wmv, str(listing)])
    assert [(i['video'], i['labels']) for i in items] == [
        (wmv, ''), (wmv, '/m/a')]


def run_killed_extraction(clip, out, kill_at):
    """Extract ``clip`` in a child process that dies (``os._exit``) at the
    rename of its ``kill_at``-th file, leaving that temporary file."""
    script = (
        'import os\n'
        'from tools.data import extraction\n'
        'real_replace, renames = os.replace, []\n'
        'def replace(src, dst):\n'
        '    renames.append(dst)\n'
        f'    if len(renames) == {kill_at}:\n'
        '        os._exit(9)\n'
        '    real_replace(src, dst)\n'
        'os.replace = replace\n'
        f'extraction.extract_clip({str(clip)!r}, {str(out)!r}, "clip")\n')
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [str(ROOT)] + [p for p in [env.get('PYTHONPATH')] if p])
    child = subprocess.run([sys.executable, '-c', script], cwd=str(ROOT),
                           env=env, capture_output=True, text=True)
    assert child.returncode == 9, child.stderr


@pytest.mark.parametrize('kill_at, leftover', [(4, 'frames/frame_3'),
                                               (11, 'audio')])
def test_a_killed_extraction_is_cleaned_up_and_completed(
        tmp_path, kill_at, leftover):
    """Killed between writing a file and renaming it (the 4th frame, or
    the wav after the 10 frames): the next run removes the temporary file
    and extracts the clip completely."""
    clip = write_clip(tmp_path / 'clip.mp4', list(range(20)),
                      audio_codec='aac')
    out = tmp_path / 'out'
    run_killed_extraction(clip, out, kill_at)
    pattern = str(out / '**/*.tmp*.*')
    temporaries = glob.glob(pattern, recursive=True)
    assert len(temporaries) == 1
    assert str(Path(temporaries[0]).parent).endswith(leftover)
    assert not (out / 'audio/clip.wav').exists()

    entries, failures = extraction.extract_clips(
        [dict(video=clip, video_id='clip')], str(out), progress=False)
    assert failures == [] and entries[0]['status'] == 'done'
    assert glob.glob(pattern, recursive=True) == []
    assert len(glob.glob(str(out / 'frames/frame_*/clip.jpg'))) == 10
    assert (out / 'audio/clip.wav').exists()


def test_fresh_temporaries_of_a_running_extraction_are_kept(tmp_path):
    folder = tmp_path / 'frames/frame_0'
    folder.mkdir(parents=True)
    running = folder / f'a.jpg.tmp{os.getpid()}.jpg'  # this process: alive
    running.write_bytes(b'partial')
    old = folder / f'b.jpg.tmp{os.getpid()}.jpg'
    old.write_bytes(b'partial')
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))  # a reused process id
    assert extraction.remove_stale_temporaries(str(tmp_path)) == 1
    assert running.exists() and not old.exists()
