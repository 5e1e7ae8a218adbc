"""MMEngine's per-parameter initialization report, at DEBUG level."""
import logging

from mmengine.dist import master_only
from mmengine.logging import MMLogger


class InitInfoAtDebugMixin:
    """Moves the report of how each parameter was initialized to DEBUG.

    MMEngine's ``BaseModule.init_weights`` ends, on the top-level module,
    with ``_dump_init_info``: three lines per parameter written straight
    into the log file (past the logger, so no log level or filter can hold
    them back), about 150 entries for the tiny toy model. Mixed into our
    top-level models, the same report is one DEBUG record: a run's log
    shows it with ``log_level = 'DEBUG'`` in the config.
    """

    @master_only
    def _dump_init_info(self) -> None:
        lines = [
            f'{name} - {tuple(param.shape)}: '
            f"{self._params_init_info[param]['init_info']}"
            for name, param in self.named_parameters()
        ]
        MMLogger.get_current_instance().log(
            logging.DEBUG,
            'Initialization of each parameter:\n' + '\n'.join(lines))
