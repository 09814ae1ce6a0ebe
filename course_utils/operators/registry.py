"""One registry of every linear operator of the course, swept by the generic tests."""
from __future__ import annotations

from typing import Callable

from .._validate import check_choice
from .base import LinearOperator

__all__ = ["register_operator", "make_operator", "registered_names"]

_FACTORIES: dict[str, Callable[..., LinearOperator]] = {}


def register_operator(name: str):
    """Decorator: register ``factory(**kwargs) -> LinearOperator`` under ``name``.

    The factory must work with no arguments and then build a small default instance
    (well under a second to apply), which the generic tests use for the dot test, the
    norm and a small inversion.
    """
    def decorator(factory):
        if name in _FACTORIES:
            raise ValueError(f"operator {name!r} is already registered")
        _FACTORIES[name] = factory
        return factory
    return decorator


def registered_names() -> tuple[str, ...]:
    return tuple(sorted(_FACTORIES))


def make_operator(name: str, **kwargs) -> LinearOperator:
    """Build the registered operator ``name`` with keyword arguments ``kwargs``."""
    check_choice(name, "operator name", registered_names())
    return _FACTORIES[name](**kwargs)
