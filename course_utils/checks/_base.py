"""Friendly feedback for exercises: run the student's function, explain what is wrong."""
from __future__ import annotations

import functools
from typing import Callable

import numpy as np

__all__ = ["CheckFailure", "StudentError", "exercise_check", "answer_check", "call_student",
           "as_result", "rel_error", "matches", "report", "register_exercise", "hint",
           "reset_hints", "exercise_task", "EXERCISES", "EXERCISE_KINDS", "judge_choice",
           "judge_number", "judge_best"]

#: The kinds of exercise: write a small piece of code, or think (COURSE §4).
EXERCISE_KINDS = ("implement", "predict", "experiment", "interpret")


class _Exercise:
    __slots__ = ("id", "kind", "task", "hints")

    def __init__(self, id, kind, task, hints):
        self.id, self.kind, self.task, self.hints = id, kind, task, hints


#: Every exercise of the course: number -> its kind, task and tiered hints.
EXERCISES: dict[str, _Exercise] = {}
_HINTS_GIVEN: dict[str, int] = {}


def register_exercise(exercise: str, kind: str, task: str, hints) -> _Exercise:
    """Declare exercise ``"N.M"``: what the student is asked to do, and its hints.

    Parameters
    ----------
    exercise : str
        The number ``"N.M"`` (notebook N, M-th exercise in order of appearance).
    kind : {"implement", "predict", "experiment", "interpret"}
        What the exercise asks for.
    task : str
        One or two sentences saying what to write or decide, never how: it is the
        message of the student's stub and of an unfinished check.
    hints : sequence of str
        At least two hints, from a nudge to nearly the answer; ``hint("N.M")`` gives
        them one at a time.
    """
    if not isinstance(exercise, str) or not exercise.count(".") == 1:
        raise ValueError(f"exercise must be a string 'N.M', got {exercise!r}")
    if kind not in EXERCISE_KINDS:
        raise ValueError(f"kind must be one of {EXERCISE_KINDS}, got {kind!r}")
    if not isinstance(task, str) or not task.strip():
        raise ValueError(f"task of exercise {exercise} must be a non-empty string")
    hints = tuple(hints)
    if len(hints) < 2 or not all(isinstance(h, str) and h.strip() for h in hints):
        raise ValueError(f"exercise {exercise} needs at least two non-empty hints")
    if exercise in EXERCISES:
        raise ValueError(f"exercise {exercise} is already registered")
    EXERCISES[exercise] = entry = _Exercise(exercise, kind, " ".join(task.split()), hints)
    return entry


def exercise_task(exercise: str) -> str:
    """The task of a registered exercise (what its stub asks for)."""
    if exercise not in EXERCISES:
        raise ValueError(f"unknown exercise {exercise!r}; known: {sorted(EXERCISES)}")
    return EXERCISES[exercise].task


def _ask_for_hint(exercise: str) -> str:
    return f'For a hint, run checks.hint("{exercise}").'


def hint(exercise: str) -> None:
    """Print the next hint for exercise ``"N.M"``: each call gives one more, the last
    one nearly the answer."""
    exercise = str(exercise).strip()
    if exercise not in EXERCISES:
        known = ", ".join(sorted(EXERCISES, key=lambda e: tuple(map(int, e.split(".")))))
        print(f"There is no exercise {exercise!r}. Exercises with hints: {known}.")
        return
    hints = EXERCISES[exercise].hints
    given = _HINTS_GIVEN.get(exercise, 0)
    index = min(given, len(hints) - 1)
    _HINTS_GIVEN[exercise] = given + 1
    print(f"Hint {index + 1} of {len(hints)} for exercise {exercise}: {hints[index]}")
    if index + 1 < len(hints):
        print(f'(Run checks.hint("{exercise}") again for the next one.)')
    elif given >= len(hints):
        print("That was the last hint; the solution notebook has the full answer.")


def reset_hints(exercise: str | None = None) -> None:
    """Start the hints of one exercise (or of all) from the first again."""
    if exercise is None:
        _HINTS_GIVEN.clear()
    else:
        _HINTS_GIVEN.pop(exercise, None)



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


def _report_check_bug(exercise: str, exc: BaseException) -> None:
    report("✗", exercise, f"the check could not run ({type(exc).__name__}: {exc}); please "
           "report this to the course maintainers.")


def _not_done(exercise: str) -> None:
    print(f"Exercise {exercise} is not done yet: {exercise_task(exercise)} "
          f"{_ask_for_hint(exercise)}")


def exercise_check(exercise: str, *, success: str = "correct!",
                   advice: Callable[[BaseException], str | None] | None = None):
    """Decorator turning a check body into a friendly ``check_*(student_fn) -> bool``.

    The body receives the student's function, calls it through :func:`call_student`,
    raises :class:`CheckFailure` with a specific explanation when the answer is wrong,
    and may return a string appended to the success message.

    The wrapper never raises: an unfinished exercise (``NotImplementedError``) prints
    ``"Exercise N.M is not done yet: <task> For a hint, run checks.hint("N.M")."``, an
    exception in the student's code prints a one-line explanation, and the result is
    ``True`` only for a correct answer. The exercise must be registered
    (:func:`register_exercise`) before the decorator runs.
    """
    exercise_task(exercise)

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
                _not_done(exercise)
                return False
            except CheckFailure as failure:
                report("✗", exercise, str(failure))
                return False
            except StudentError as err:
                report("✗", exercise, _describe_student_error(err, advice))
                return False
            except Exception as exc:  # noqa: BLE001 - a bug here must not look like theirs
                _report_check_bug(exercise, exc)
                return False
            report("✓", exercise, success + (f" {note}" if note else ""))
            return True

        check.exercise = exercise
        return check
    return decorator


def answer_check(exercise: str):
    """Decorator turning a body ``body(answer, *args) -> (correct, explanation)`` into a
    friendly ``check_*(answer) -> bool`` for the exercises answered by a value (predict,
    experiment, interpret), not by a function.

    ``None`` or ``...`` (the student's stub) prints that the exercise is not done yet;
    a :class:`CheckFailure` (an answer of the wrong form) prints what was expected; else
    the explanation is printed after ✓ or ✗. Never raises.
    """
    exercise_task(exercise)

    def decorator(body):
        @functools.wraps(body)
        def check(answer, *args, **kwargs) -> bool:
            if answer is None or answer is Ellipsis:
                _not_done(exercise)
                return False
            try:
                correct, explanation = body(answer, *args, **kwargs)
            except CheckFailure as failure:
                report("✗", exercise, str(failure))
                return False
            except Exception as exc:  # noqa: BLE001 - a bug here must not look like theirs
                _report_check_bug(exercise, exc)
                return False
            report("✓" if correct else "✗", exercise, explanation)
            return bool(correct)

        check.exercise = exercise
        return check
    return decorator


# -- judging answers that are values ----------------------------------------------------------
def judge_choice(answer, options: dict) -> tuple[bool, str]:
    """Judge a multiple-choice answer.

    ``options`` maps each letter (``"a"``, ``"b"``...) to ``(is_correct, explanation)``;
    the explanation of the chosen option is returned, so every wrong option says why it
    is wrong. Raises :class:`CheckFailure` for an answer that is not one of the letters.
    """
    letters = sorted(options)
    if not isinstance(answer, str) or answer.strip().lower().strip("()") not in options:
        raise CheckFailure(f"answer with one of the letters {', '.join(map(repr, letters))} "
                           f"(a string), got {answer!r}.")
    correct, explanation = options[answer.strip().lower().strip("()")]
    return bool(correct), explanation


def _as_number(answer, what: str) -> float:
    if isinstance(answer, bool) or not isinstance(answer, (int, float, np.integer,
                                                             np.floating)):
        raise CheckFailure(f"{what} must be a number, got {type(answer).__name__} "
                           f"{answer!r}.")
    value = float(answer)
    if not np.isfinite(value):
        raise CheckFailure(f"{what} must be a finite number, got {value}.")
    return value


def judge_number(answer, actual: float, *, why: str, rel_tol: float | None = None,
                 factor: float | None = None, abs_tol: float | None = None,
                 what: str = "your prediction", fmt: str = ".3g") -> tuple[bool, str]:
    """Judge a predicted number against the value the run shows.

    Correct within ``rel_tol`` (relative), ``abs_tol`` (absolute) or ``factor`` (a
    ratio, for orders of magnitude; both must have the same sign). ``why`` explains the
    actual value whatever the prediction was.
    """
    if rel_tol is None and factor is None and abs_tol is None:
        raise ValueError("give rel_tol, factor or abs_tol")
    value = _as_number(answer, what)
    if factor is not None:
        ok = value * actual > 0 and max(value / actual, actual / value) <= factor
        gap = (f"a factor {max(value / actual, actual / value):.3g} away"
               if value * actual > 0 else "of the wrong sign")
    elif rel_tol is not None:
        ok = abs(value - actual) <= rel_tol * abs(actual)
        gap = f"{abs(value - actual) / abs(actual):.0%} away" if actual else "off"
    else:
        ok = abs(value - actual) <= abs_tol
        gap = f"{abs(value - actual):{fmt}} away"
    head = (f"you predicted {value:{fmt}} and the run shows {actual:{fmt}}"
            + ("." if ok else f" ({gap})."))
    return ok, f"{head} {why}"


def judge_best(answer, scores: dict, *, why: str, what: str = "your choice",
               higher_is_better: bool = True, tolerance: float = 0.0,
               unit: str = "", fmt: str = ".3g") -> tuple[bool, str]:
    """Judge a parameter found by experiment against the best of a grid of ``scores``
    (parameter -> score, e.g. PSNR), computed by the check itself.

    The answer is matched to the nearest grid value; it is correct when its score is
    within ``tolerance`` of the best one. The explanation gives both scores and ``why``.
    """
    value = _as_number(answer, what)
    grid = np.array(sorted(scores), dtype=float)
    if value < grid.min() * (1 - 1e-9) - 1e-12 or value > grid.max() * (1 + 1e-9) + 1e-12:
        raise CheckFailure(f"{what} must be within the range tried, "
                           f"[{grid.min():{fmt}}, {grid.max():{fmt}}], got {value:{fmt}}.")
    positive = grid.min() > 0
    distance = np.abs(np.log(grid / value)) if positive and value > 0 else np.abs(grid - value)
    nearest = float(grid[int(np.argmin(distance))])
    key = min(scores, key=lambda k: abs(float(k) - nearest))
    best_key = (max if higher_is_better else min)(scores, key=lambda k: scores[k])
    score, best = float(scores[key]), float(scores[best_key])
    gap = (best - score) if higher_is_better else (score - best)
    ok = gap <= tolerance + 1e-12
    head = (f"{what} {value:{fmt}} scores {score:{fmt}}{unit}; the best on the grid is "
            f"{float(best_key):{fmt}} with {best:{fmt}}{unit}"
            + (" — close enough." if ok else f", {gap:{fmt}}{unit} better."))
    return ok, f"{head} {why}"
