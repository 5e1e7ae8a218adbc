"""The helpers of ``tools/extract_features.py``: its inputs (annotation
items, media files, folders and globs) and its output writer."""
