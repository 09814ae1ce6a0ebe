"""Neural networks of the course (torch only): import this package only where torch is wanted."""
from .denoiser import DENOISER_ARCH, DRUNetLite, ResBlock, build_denoiser

__all__ = ["DENOISER_ARCH", "DRUNetLite", "ResBlock", "build_denoiser"]
