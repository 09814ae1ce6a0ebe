"""Command line: ``python -m course_utils.train NAME [--steps N] [--out FILE] [--threads T]``."""
from __future__ import annotations

import argparse
import sys

from . import TRAINERS, trainer

__all__ = ["main"]

_PROG = "python -m course_utils.train"


def main(argv=None) -> int:
    """Parse ``NAME``, then that trainer's own options, and train.

    Only the chosen trainer's module is imported, so one network's training code never
    stands in the way of another's.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    top = argparse.ArgumentParser(
        prog=_PROG, description="Train one of the shipped networks from scratch (CPU, seeded).")
    top.add_argument("name", metavar="NAME", choices=sorted(TRAINERS),
                     help=f"one of: {', '.join(sorted(TRAINERS))}")
    if not argv or argv[0].startswith("-"):
        top.parse_args(argv)  # prints help, or the usage error for a missing NAME
        return 2
    name = top.parse_args(argv[:1]).name
    module = trainer(name)
    parser = argparse.ArgumentParser(prog=f"{_PROG} {name}",
                                     description=(module.__doc__ or "").strip())
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    args.name = name
    module.main(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
