"""Self-checks for the exercises: ``checks.check_*(your_function)`` prints friendly feedback.

Every check returns True or False and never raises: an unfinished exercise prints its
hint, an exception in your code is explained in one line, and a wrong answer is
compared with the library's reference to say what is wrong.
"""
from ._base import CheckFailure, exercise_check
from .nb01 import check_normal_equations, check_pseudo_inverse, check_tsvd
from .nb02 import (check_gradient_adjoint, check_ista_step, check_soft_threshold,
                   check_tikhonov_fft)
from .nb03 import check_admm_iteration, check_dpir_schedule, check_fft_data_step
from .nb08 import check_back_projection, check_ramp_filter
from .nb06 import check_discrepancy_stop, check_masked_loss
from .nb04 import check_lista_layer, check_sparse_ista_step
from .nb07 import check_fft2c, check_masked_fft_adjoint, check_variable_density_mask
from .nb05 import check_back_projection_step, check_pixel_shuffle

__all__ = ["check_normal_equations", "check_pseudo_inverse", "check_tsvd",
           "check_tikhonov_fft", "check_gradient_adjoint", "check_soft_threshold",
           "check_ista_step", "exercise_check", "CheckFailure"]
__all__ += ["check_fft_data_step", "check_admm_iteration", "check_dpir_schedule"]
__all__ += ["check_back_projection", "check_ramp_filter"]
__all__ += ["check_sparse_ista_step", "check_lista_layer"]
__all__ += ["check_fft2c", "check_masked_fft_adjoint", "check_variable_density_mask"]
__all__ += ["check_pixel_shuffle", "check_back_projection_step"]
__all__ += ["check_masked_loss", "check_discrepancy_stop"]
