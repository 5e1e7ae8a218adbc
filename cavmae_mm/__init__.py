"""CAV-MAE for MMAction2.

Importing this package registers its modules in MMAction2's registries
(``MODELS``, ``TRANSFORMS``, ``DATASETS``, ``DATA_SAMPLERS``, ``METRICS``,
``HOOKS``), so configs pull it in with
``custom_imports = dict(imports=['cavmae_mm'], allow_failed_imports=False)``.
"""
from .version import __version__
from .utils.mmengine_compat import patch_config_base_resolution

patch_config_base_resolution()
from . import models  # noqa: F401,E402
from . import datasets  # noqa: F401,E402
from . import evaluation  # noqa: F401,E402
from . import engine  # noqa: F401,E402
# Allows exactly the MMEngine checkpoint types torch's weights_only needs.
from . import utils  # noqa: F401,E402

__all__ = ['__version__']
