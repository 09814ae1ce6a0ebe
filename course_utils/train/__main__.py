"""Command line: ``python -m course_utils.train NAME [--steps N] [--out FILE] [--threads T]``."""
from __future__ import annotations

import argparse
import sys

from . import TRAINERS, trainer

__all__ = ["main"]


def main(argv=None) -> int:
    """Parse ``NAME`` and that trainer's options, then train."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.train",
        description="Train one of the shipped networks from scratch (CPU, seeded).")
    sub = parser.add_subparsers(dest="name", required=True, metavar="NAME",
                                help=f"one of {', '.join(sorted(TRAINERS))}")
    for name in sorted(TRAINERS):
        module = trainer(name)
        module.add_arguments(sub.add_parser(name, help=(module.__doc__ or "").strip()))
    args = parser.parse_args(argv)
    trainer(args.name).main(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
