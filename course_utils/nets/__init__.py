"""Neural networks of the course (torch only): import this package only where torch is wanted.

Every network class of the sub-modules, its builder and the loaders of the shipped weights
are available from here, e.g. ``from course_utils.nets import LISTA, load_lista``. The
denoiser is imported with the package (as it always was); the other sub-modules are
imported on first access to one of their names, so ``import course_utils.nets`` costs no
more than importing torch (``nets.unrolled``, for one, also brings in the operators and
scipy).
"""
from __future__ import annotations

import importlib

from .denoiser import DENOISER_ARCH, DRUNetLite, ResBlock, build_denoiser

#: Sub-module -> the names it contributes to this package: its ``torch.nn.Module``
#: classes, its ``build_*`` constructors and its ``load_*`` loaders of shipped weights.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "diffusion": ("SigmaUNet", "build_diffusion_net"),
    "dip": ("SkipNet", "build_dip_net"),
    "fbpconvnet": ("FBPConvNet", "build_fbpconvnet"),
    "generator": ("Generator", "Encoder", "build_generator", "build_encoder",
                  "load_generator"),
    "indigo": ("HaarDetailINN", "MonotoneMap", "LearnedDegradationINN", "build_indigo_inn"),
    "lfm": ("TorchLightField", "LFMLista", "build_lfm_lista", "load_lfm_lista"),
    "lifting": ("LiftingCNN", "LearnedLifting", "WINNetLite", "build_winnet"),
    "mri": ("KSpaceCNN", "DealiasUNet", "UnrolledDC", "build_mri_net"),
    "sr": ("PreUpsampling", "PostUpsampling", "Progressive", "BackProjection",
           "Discriminator", "build_sr_net", "load_sr_net"),
    "unrolled": ("LISTA", "TorchOperator", "RegulariserCNN", "GradientDescentNet",
                 "HaarShrinkage", "UnrolledProxGrad", "load_lista", "load_gdnet"),
    "xray": ("XrayUnfolded", "build_xray_unfolded", "load_xray_unfolded"),
}
_ORIGIN: dict[str, str] = {name: module for module, names in _EXPORTS.items()
                           for name in names}

__all__ = ["DENOISER_ARCH", "DRUNetLite", "ResBlock", "build_denoiser", *_ORIGIN]


def __getattr__(name: str):
    module = _ORIGIN.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
