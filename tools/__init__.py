"""The command-line tools and the modules only they use.

Import rule (as in MMAction2, whose tools import ``tools.data...``): a
tool's helper module is imported by its full name from the repository
root, ``from tools.data.toy import make_toy_dataset``,
``from tools.benchmarking.measure import count_flops``,
``from tools.launch import build_runner``; never by a bare name that only
resolves from the script's own folder. A script that imports a helper
first puts the repository root on ``sys.path`` (the three lines under
``# Repository root on sys.path`` in each such script), so
``python tools/x.py`` and ``python tools/data/x.py`` work from any working
directory, and so do the processes those scripts start (workers inherit
``sys.path``). Tests find ``tools`` through pytest's ``pythonpath = .``
(``setup.cfg``). Helper modules never print on import; the package
(``cavmae_mm``) never imports ``tools``.
"""
