"""Interactive widgets of the notebooks: each factory returns ``(widget, update)``.

``WIDGETS`` maps a name to its factory, ``WIDGET_KINDS`` to ``"closed-form"`` or
``"iterative"`` (the latency budget), and ``sweep_params(name)`` lists the parameter sets
that tests and benchmarks run through ``update``.
"""
from ._base import (ChoiceControl, Demo, DemoWidget, FloatControl, IntControl, WIDGET_KINDS,
                    WIDGETS, display_mode, friendly_message, register_widget, sweep_params)

# Importing a notebook module registers its widgets.
from . import nb01, nb02  # noqa: E402,F401
from .nb01 import tsvd_widget  # noqa: E402
from .nb02 import regulariser_widget  # noqa: E402
from .nb03 import pnp_widget  # noqa: E402  (registers nb03_pnp)
from .nb04 import lista_widget  # noqa: E402  (registers nb04_lista)
from .nb08 import ct_sparse_view_widget  # noqa: E402  (registers nb08_ct_sparse_view)
from .nb07 import undersampling_widget  # noqa: E402  (registers nb07_undersampling)
from .nb06 import dip_widget  # noqa: E402  (registers nb06_dip)
from .nb05 import super_resolution_widget  # noqa: E402  (registers nb05_super_resolution)
from .nb09 import lifting_widget  # noqa: E402  (registers nb09_lifting)

__all__ = ["WIDGETS", "WIDGET_KINDS", "sweep_params", "register_widget", "Demo", "DemoWidget",
           "FloatControl", "IntControl", "ChoiceControl", "display_mode", "friendly_message",
           "tsvd_widget", "regulariser_widget"]
__all__ += ["pnp_widget"]
__all__ += ["ct_sparse_view_widget"]
__all__ += ["undersampling_widget"]
__all__ += ["lista_widget"]
__all__ += ["super_resolution_widget"]
__all__ += ["dip_widget"]
__all__ += ["lifting_widget"]
from .nb10 import indigo_widget  # noqa: E402  (registers nb10_indigo)
__all__ += ["indigo_widget"]
from .nb12 import xrf_widget  # noqa: E402  (registers nb12_xrf)
__all__ += ["xrf_widget"]
from .nb11 import xray_separation_widget  # noqa: E402  (registers nb11_xray_separation)
__all__ += ["xray_separation_widget"]
from .nb13 import lfm_widget  # noqa: E402  (registers nb13_lfm)
__all__ += ["lfm_widget"]
