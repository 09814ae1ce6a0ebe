"""Self-checks for the exercises: ``checks.check_*(your_answer)`` prints friendly feedback.

Every check returns True or False and never raises: an unfinished exercise says what is
asked and how to get a hint, an exception in your code is explained in one line, and a
wrong answer is compared with the library's reference to say what is wrong.
``checks.hint("N.M")`` prints the hints of exercise N.M one at a time, the last one nearly
the answer.
"""
from ._base import (EXERCISES, CheckFailure, answer_check, exercise_check, exercise_task,
                    hint, reset_hints)
from .nb01 import *  # noqa: F401,F403 - each module's __all__ lists its checks
from .nb02 import *  # noqa: F401,F403
from .nb03 import *  # noqa: F401,F403
from .nb04 import *  # noqa: F401,F403
from .nb05 import *  # noqa: F401,F403
from .nb06 import *  # noqa: F401,F403
from .nb07 import *  # noqa: F401,F403
from .nb08 import *  # noqa: F401,F403
from .nb09 import *  # noqa: F401,F403
from .nb10 import *  # noqa: F401,F403
from .nb11 import *  # noqa: F401,F403
from .nb12 import *  # noqa: F401,F403
from .nb13 import *  # noqa: F401,F403
from . import nb01, nb02, nb03, nb04, nb05, nb06, nb07, nb08, nb09, nb10, nb11, nb12, nb13

__all__ = ["hint", "reset_hints", "exercise_task", "EXERCISES", "exercise_check",
           "answer_check", "CheckFailure"]
for _module in (nb01, nb02, nb03, nb04, nb05, nb06, nb07, nb08, nb09, nb10, nb11, nb12, nb13):
    __all__ += list(_module.__all__)
del _module
