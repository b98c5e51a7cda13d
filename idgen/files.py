"""Paths the command line reads and writes: checked before any work starts, written atomically.

Every check raises :class:`~idgen.errors.UsageError` with one line naming the flag and the path, so a
run that would fail at its last step (a plot into a missing folder, a CSV onto a directory) fails at its
first instead. Outputs are written to a temporary file next to the target and renamed over it, so an
interrupted write never leaves a half-written file under the target's name.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from idgen.errors import UsageError

__all__ = [
    "input_file",
    "input_folder",
    "output_file",
    "output_folder",
    "atomic_write",
    "atomic_open",
    "sha256_file",
]


def input_file(path: str, flag: str) -> Path:
    """An existing regular file.

    Examples
    --------
    >>> input_file("/no/such/file.csv", "--data")
    Traceback (most recent call last):
    ...
    idgen.errors.UsageError: --data '/no/such/file.csv' does not exist
    """
    checked = Path(path)
    if not checked.exists():
        raise UsageError(f"{flag} {path!r} does not exist")
    if not checked.is_file():
        raise UsageError(f"{flag} {path!r} is not a file")
    return checked


def input_folder(path: str, flag: str) -> Path:
    """An existing folder."""
    checked = Path(path)
    if not checked.exists():
        raise UsageError(f"{flag} {path!r} does not exist")
    if not checked.is_dir():
        raise UsageError(f"{flag} {path!r} is not a folder")
    return checked


def output_file(path: str, flag: str, suffix: str | None = None) -> Path:
    """A file that can be written: not a folder, in an existing writable folder, with ``suffix`` if given.

    Examples
    --------
    >>> output_file("plan.txt", "--png", suffix=".png")
    Traceback (most recent call last):
    ...
    idgen.errors.UsageError: --png 'plan.txt' must end in .png
    """
    checked = Path(path)
    if not path or checked.name in {"", ".", ".."}:
        raise UsageError(f"{flag} {path!r} is not a file name")
    if suffix is not None and checked.suffix.lower() != suffix:
        raise UsageError(f"{flag} {path!r} must end in {suffix}")
    if checked.is_dir():
        raise UsageError(f"{flag} {path!r} is a folder; give a file name")
    parent = checked.parent
    if not parent.is_dir():
        raise UsageError(f"{flag} {path!r}: the folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{flag} {path!r}: the folder {str(parent)!r} is not writable")
    return checked


def output_folder(path: str, flag: str) -> Path:
    """A folder that exists or can be made: no file in the way, the nearest existing ancestor writable."""
    checked = Path(path)
    if checked.exists() and not checked.is_dir():
        raise UsageError(f"{flag} {path!r} is an existing file; give a folder")
    ancestor = checked
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UsageError(f"{flag} {path!r}: {str(ancestor)!r} is a file, so the folder cannot be made")
    if not os.access(ancestor, os.W_OK):
        raise UsageError(f"{flag} {path!r}: {str(ancestor)!r} is not writable")
    return checked


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(temporary)`` (same folder and suffix as ``path``), then rename it to ``path``."""
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


@contextmanager
def atomic_open(path: Path) -> Iterator[IO[str]]:
    """A text file handle whose content appears at ``path`` only when the block finishes without error."""
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
    try:
        with open(temporary, "w", newline="") as handle:
            yield handle
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (artifacts are checked against it before they are used)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
