"""ProgressReporter (cavmae_mm/utils/progress.py): log lines with done/total
and an ETA off a terminal, a bar redrawn in place on one."""
import io

from cavmae_mm.utils.progress import ProgressReporter, format_seconds, track


def test_log_lines_off_a_terminal(logged):
    stream = io.StringIO()  # not a TTY: lines through the logger
    reporter = ProgressReporter(20, desc='clips', stream=stream)
    assert not reporter.live
    for _ in range(20):
        reporter.update()
    reporter.close()
    lines = [m for m in logged() if m.startswith('clips:')]
    # every 10% (2 of 20), the last once, nothing on the stream
    assert len(lines) == 10
    assert lines[0].startswith('clips: 2/20 (10%), elapsed 0:00:0')
    assert lines[-1].startswith('clips: 20/20 (100%)')
    assert all('ETA ' in line for line in lines)
    assert stream.getvalue() == ''


def test_a_few_lines_for_a_long_loop(logged):
    reporter = ProgressReporter(1000, desc='test', live=False)
    for _ in range(1000):
        reporter.update()
    reporter.close()
    assert len([m for m in logged() if m.startswith('test:')]) == 10


def test_live_bar_on_a_terminal(logged):
    stream = io.StringIO()
    reporter = ProgressReporter(4, desc='extract', stream=stream, live=True)
    for _ in range(4):
        reporter.update()
    reporter.close()
    text = stream.getvalue()
    assert text.count('\r') == 5 and text.endswith('\n')
    assert 'extract: 4/4 (100%)' in text and 'ETA 0:00:00' in text
    assert not [m for m in logged() if m.startswith('extract:')]


def test_eta_and_format():
    reporter = ProgressReporter(10, live=False)
    assert reporter.eta() is None and 'ETA ?' in reporter.message()
    reporter.start -= 4.0  # 4 s for 2 of 10: 16 s left
    reporter.done = 2
    assert abs(reporter.eta() - 16.0) < 0.5
    assert format_seconds(3725) == '1:02:05'


def test_disabled_reports_nothing(logged):
    stream = io.StringIO()
    reporter = ProgressReporter(3, stream=stream, live=True, enabled=False)
    for _ in range(3):
        reporter.update()
    reporter.close()
    assert reporter.done == 3 and stream.getvalue() == ''
    assert not [m for m in logged() if m.startswith('progress:')]


def test_track_an_iterator(logged):
    items = list(track(iter(range(4)), 4, desc='items', live=False))
    assert items == [0, 1, 2, 3]
    lines = [m for m in logged() if m.startswith('items:')]
    assert lines[-1].startswith('items: 4/4 (100%)') and len(lines) == 4
    assert list(track([1, 2], desc='off', enabled=False)) == [1, 2]
    assert not [m for m in logged() if m.startswith('off:')]
