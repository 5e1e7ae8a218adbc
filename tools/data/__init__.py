"""Data tools and their helpers (``tools.data.toy``,
``tools.data.extraction``); see ``tools/__init__.py`` for the import
rule."""
