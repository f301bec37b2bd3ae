"""Deprecated location of :mod:`crm_kit.teaching` (moved beside the notebooks' content); kept for one release.

Student copies written before the move import ``crm_kit.run.teaching``: this
module is the same module object as :mod:`crm_kit.teaching`, so its classes
(``NotYet``) and state are shared, and importing it says where it went.
"""

import sys
import warnings

from .. import teaching as _teaching

warnings.warn("crm_kit.run.teaching moved to crm_kit.teaching; import it from there (this alias goes in the next "
              "release)", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _teaching
