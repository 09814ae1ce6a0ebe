"""Friendly feedback for exercises: run the student's function, explain what is wrong."""
from __future__ import annotations

import functools
from typing import Callable

import numpy as np

__all__ = ["CheckFailure", "StudentError", "exercise_check", "call_student", "as_result",
           "rel_error", "matches", "report"]


class CheckFailure(Exception):
    """Raised inside a check body to report a specific, explained mistake."""


class StudentError(Exception):
    """An exception raised by the student's function (wrapped, with the call described)."""

    def __init__(self, original: BaseException, called_with: str = ""):
        super().__init__(str(original))
        self.original = original
        self.called_with = called_with


def report(symbol: str, exercise: str, text: str) -> None:
    """Print one line of feedback (a single place, so the format stays uniform)."""
    print(f"{symbol} Exercise {exercise}: {text}")


def call_student(fn: Callable, *args, called_with: str = "", **kwargs):
    """Call the student's function; ``NotImplementedError`` passes through, any other
    exception becomes :class:`StudentError` so it is never confused with a bug in the
    check."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - re-raised with context
        raise StudentError(exc, called_with) from exc


def as_result(value, *, shape: tuple | None = None, what: str = "your function",
              allow_complex: bool = False) -> np.ndarray:
    """The student's return value as a float ndarray, or a :class:`CheckFailure` that
    says what is wrong with it (None, wrong shape, complex, NaN)."""
    if value is None:
        raise CheckFailure(f"{what} returned None: did you forget the `return` statement?")
    if value is Ellipsis:
        raise CheckFailure(f"{what} returned `...`: replace the placeholder by your answer.")
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001
        raise CheckFailure(f"{what} returned a {type(value).__name__}, expected an array") \
            from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == bool):
        raise CheckFailure(f"{what} returned a {type(value).__name__} of dtype {arr.dtype}, "
                           "expected a numeric array")
    if shape is not None and arr.shape != tuple(shape):
        raise CheckFailure(f"{what} returned an array of shape {arr.shape}, expected "
                           f"{tuple(shape)}")
    if np.iscomplexobj(arr) and not allow_complex:
        imag = float(np.max(np.abs(arr.imag))) if arr.size else 0.0
        raise CheckFailure(f"{what} returned a complex array (largest imaginary part "
                           f"{imag:.1e}): the answer is real, return np.real(...) of it.")
    if not np.all(np.isfinite(arr)):
        raise CheckFailure(f"{what} returned NaN or inf values: look for a division by "
                           "zero (or by a tiny number)")
    return arr.astype(np.complex128 if np.iscomplexobj(arr) else np.float64)


def rel_error(a, b) -> float:
    """``||a - b|| / ||b||`` (absolute error when ``b`` is zero)."""
    a, b = np.asarray(a), np.asarray(b)
    denom = np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / denom) if denom > 0 else float(np.linalg.norm(a))


def matches(a, b, rtol: float = 1e-6) -> bool:
    """``a`` and ``b`` have the same shape and agree to relative error ``rtol``."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and rel_error(a, b) <= rtol


def _describe_student_error(err: StudentError, advice: Callable | None) -> str:
    exc = err.original
    where = f" when called with {err.called_with}" if err.called_with else ""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else "(no message)"
    line = f"your function raised {type(exc).__name__}{where}: {text}"
    extra = advice(exc) if advice is not None else None
    if extra is None:
        extra = _generic_advice(exc)
    return f"{line}. {extra}" if extra else line


def _generic_advice(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, ValueError) and ("matmul" in text or "shapes" in text
                                        or "broadcast" in text):
        return "Two arrays have incompatible shapes: print the .shape of each operand."
    if isinstance(exc, np.linalg.LinAlgError):
        return "A linear-algebra routine failed: is the matrix square and invertible?"
    if isinstance(exc, TypeError) and ("positional argument" in text
                                       or "unexpected keyword" in text):
        return ("Check your function's signature: it must take the arguments named in "
                "the exercise, in that order.")
    if isinstance(exc, NameError):
        return "Run the cells above first (or define the name inside your function)."
    if isinstance(exc, (AttributeError, TypeError)):
        return "Check the type of each argument: they are numpy arrays (or an operator)."
    return ""


def exercise_check(exercise: str, hint: str, *, success: str = "correct!",
                   advice: Callable[[BaseException], str | None] | None = None):
    """Decorator turning a check body into a friendly ``check_*(student_fn) -> bool``.

    The body receives the student's function, calls it through :func:`call_student`,
    raises :class:`CheckFailure` with a specific explanation when the answer is wrong,
    and may return a string appended to the success message.

    The wrapper never raises: an unfinished exercise (``NotImplementedError``) prints
    ``"Exercise N.M is not done yet: <hint>"``, an exception in the student's code prints
    a one-line explanation, and the result is ``True`` only for a correct answer.
    """
    def decorator(body):
        @functools.wraps(body)
        def check(student_fn, *args, **kwargs) -> bool:
            if not callable(student_fn):
                kind = type(student_fn).__name__
                article = "an" if kind[:1].lower() in "aeiou" else "a"
                report("✗", exercise, "pass your function itself (e.g. "
                       f"{body.__name__}(my_function), without parentheses after its "
                       f"name), got {article} {kind}.")
                return False
            try:
                note = body(student_fn, *args, **kwargs)
            except NotImplementedError:
                print(f"Exercise {exercise} is not done yet: {hint}")
                return False
            except CheckFailure as failure:
                report("✗", exercise, str(failure))
                return False
            except StudentError as err:
                report("✗", exercise, _describe_student_error(err, advice))
                return False
            except Exception as exc:  # noqa: BLE001 - a bug here must not look like theirs
                report("✗", exercise, "the check could not run "
                       f"({type(exc).__name__}: {exc}); please report this to the course "
                       "maintainers.")
                return False
            report("✓", exercise, success + (f" {note}" if note else ""))
            return True

        check.exercise = exercise
        check.hint = hint
        return check
    return decorator
