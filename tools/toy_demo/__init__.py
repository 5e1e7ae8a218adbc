"""Helpers of the toy demos (``tools/run_toy_demo.py``,
``tools/run_toy_sync_demo.py``): several seeds and their summary
(``tools.toy_demo.seeds``); see ``tools/__init__.py`` for the import
rule."""
