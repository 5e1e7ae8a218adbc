"""The helpers of ``tools/leaderboard.py``: its tasks and their evaluation
(``tasks.py``) and its table (``table.py``)."""
