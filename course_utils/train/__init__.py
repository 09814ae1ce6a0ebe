"""Training commands for the shipped weights: ``python -m course_utils.train NAME``."""
from __future__ import annotations

import importlib

__all__ = ["TRAINERS", "trainer"]

#: name -> module with ``add_arguments(parser)`` and ``main(args)``.
TRAINERS: dict[str, str] = {
    "denoiser": "course_utils.train.denoiser",
    "diffusion": "course_utils.train.diffusion",
    "dip-snapshots": "course_utils.train.dip",
    "fbpconvnet": "course_utils.train.fbpconvnet",
    "gdnet": "course_utils.train.gdnet",
    "generator": "course_utils.train.generator",
    "indigo-inn": "course_utils.train.indigo_inn",
    "indigo-snapshots": "course_utils.train.indigo_snapshots",
    "lfm-lista": "course_utils.train.lfm",
    "lista": "course_utils.train.lista",
    "mri-kspace": "course_utils.train.mri",
    "mri-unet": "course_utils.train.mri",
    "mri-unrolled": "course_utils.train.mri",
    "sr-dbpn": "course_utils.train.sr",
    "sr-loss-adversarial": "course_utils.train.sr",
    "sr-loss-huber": "course_utils.train.sr",
    "sr-loss-l1": "course_utils.train.sr",
    "sr-loss-l2": "course_utils.train.sr",
    "sr-loss-perceptual": "course_utils.train.sr",
    "sr-loss-tv": "course_utils.train.sr",
    "sr-post": "course_utils.train.sr",
    "sr-pre": "course_utils.train.sr",
    "sr-progressive": "course_utils.train.sr",
    "winnet": "course_utils.train.winnet",
    "xray-unfolded": "course_utils.train.xray_unfolded",
}


def trainer(name: str):
    """The training module for the weights ``name``."""
    from .._validate import check_choice

    check_choice(name, "name", sorted(TRAINERS))
    return importlib.import_module(TRAINERS[name])
