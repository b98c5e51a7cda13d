"""How the fuzz suite judges one bad input, and the tally it reports at the end of the run.

Every bad input ends in exactly one of five outcomes:

clear error
    the API raised an :class:`~idgen.errors.IdgenError` whose message is one non-empty line, or the CLI
    exited 1 or 2 with exactly one ``error: ...`` line on stderr (and no traceback);
traceback
    any other exception escaped (the API), or stderr held a traceback or an "internal error" (the CLI);
silent wrong answer
    the call returned normally (the CLI exited 0): a bad input was accepted;
hang
    the call ran past its deadline;
unclear
    an IdgenError of several lines, or a CLI exit without the one-line message.

:func:`refused` and :func:`cli_refused` record the outcome in :data:`TALLY` and return it; tests assert
``== "clear error"`` so that any other outcome fails the test that found it.
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from idgen.cli import main
from idgen.errors import IdgenError

OUTCOMES = ("clear error", "traceback", "silent wrong answer", "hang", "unclear")
#: counts per outcome over the whole run, plus "valid" for generated inputs that were fine (and checked)
TALLY: Counter[str] = Counter()
#: one example per outcome that is not a clear error, for the summary
FAILURES: dict[str, str] = {}
DEADLINE_S = 120.0  # generous: a loaded 2-core machine imports diffusers in ~50 s


class Hang(BaseException):
    """Raised by the deadline timer (a BaseException, so no ``except Exception`` swallows it)."""


@contextlib.contextmanager
def deadline(seconds: float = DEADLINE_S) -> Iterator[None]:
    """Raise :class:`Hang` in the block if it runs longer than ``seconds``."""

    def expire(signum: int, frame: Any) -> None:
        raise Hang

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _record(outcome: str, case: str) -> str:
    TALLY[outcome] += 1
    if outcome != "clear error":
        FAILURES.setdefault(outcome, case)
    return outcome


def refused(call: Callable[[], Any], case: str = "") -> str:
    """Run ``call`` on a bad input through the Python API and classify what happened."""
    try:
        with deadline():
            call()
    except Hang:
        return _record("hang", case)
    except IdgenError as error:
        message = str(error)
        one_line = bool(message.strip()) and "\n" not in message
        return _record("clear error" if one_line else "unclear", f"{case}: {message!r}")
    except Exception as error:  # noqa: BLE001 - this is what the suite looks for
        return _record("traceback", f"{case}: {type(error).__name__}: {error}")
    return _record("silent wrong answer", case)


def cli_refused(argv: Sequence[str]) -> str:
    """Run ``idgen ARGV`` in this process on a bad input and classify the exit status and stderr."""
    out, err = io.StringIO(), io.StringIO()
    case = "idgen " + " ".join(argv)
    try:
        with deadline(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(list(argv))
    except Hang:
        return _record("hang", case)
    except BaseException as error:  # noqa: BLE001 - main must never let anything escape
        return _record("traceback", f"{case}: {type(error).__name__}: {error}")
    return classify_cli(status, err.getvalue(), case)


def classify_cli(status: int, stderr: str, case: str) -> str:
    """The outcome of a finished CLI run on a bad input from its exit status and stderr."""
    if "Traceback" in stderr or "internal error" in stderr:
        return _record("traceback", f"{case}: {stderr.strip()[-300:]}")
    if status == 0:
        return _record("silent wrong answer", case)
    lines = stderr.splitlines()
    if status in (1, 2) and len(lines) == 1 and lines[0].startswith("error: ") and len(lines[0]) > 8:
        return _record("clear error", case)
    return _record("unclear", f"{case}: status {status}, stderr {stderr!r}")


def summary() -> dict[str, Any]:
    """The counts the issue asks for."""
    bad = sum(TALLY[o] for o in OUTCOMES)
    return {
        "bad inputs tried": bad,
        "clear errors": TALLY["clear error"],
        "tracebacks": TALLY["traceback"],
        "silent wrong answers": TALLY["silent wrong answer"],
        "hangs": TALLY["hang"],
        "unclear messages": TALLY["unclear"],
        "valid inputs checked": TALLY["valid"],
        "first failure per outcome": dict(FAILURES),
    }


def write_summary(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary(), indent=1))
