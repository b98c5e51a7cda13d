"""The manifest of a saved network folder: what every file must hash to and where each factor came from.

``SamplingNetwork.save`` writes ``manifest.json`` last, over everything else in the folder::

    {"format": "idgen-manifest/1",
     "network": {"query": "P(Y | do(X))", "id": "<content id of the wiring>"},
     "tasks":   {"<task id>": {"targets": [...], "conditioning": [...], "source": "<dataset id>"}},
     "factors": {"<task id>": {"folder": "factors/<task id>", "backend": ..., "options": {...},
                                "data": "<fingerprint of the training data>", "seed": 0}},
     "files":   {"network.json": "<sha256>", "factors/<task id>/factor.json": "<sha256>", ...},
     "digest":  "<sha256 of the canonical JSON of everything above>"}

The file list is generic: every file under the folder is listed by its sha256, whatever wrote it, so a
factor whose model needs another artifact (say, the autoencoder a latent-diffusion factor decodes with,
saved as one more factor folder) is covered without a special case. :func:`verify_files` checks the
folder against the list before anything in it is parsed: a file missing, added, changed or replaced by a
link is a one-line :class:`~idgen.errors.ArtifactError` naming it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from idgen.errors import ArtifactError
from idgen.files import sha256_file

__all__ = ["MANIFEST_FILE", "write_manifest", "read_manifest", "verify_files", "inside"]

MANIFEST_FILE = "manifest.json"
FORMAT = "idgen-manifest/1"
#: one path component a factor folder may be named by (task ids are 12 hex digits; anything plain works)
_COMPONENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


def inside(folder: Path, *parts: str) -> Path:
    """``folder / parts...`` when every part is one plain path component, else :class:`ArtifactError`.

    Examples
    --------
    >>> inside(Path("net"), "factors", "0a1b2c3d4e5f").as_posix()
    'net/factors/0a1b2c3d4e5f'
    >>> inside(Path("net"), "factors", "/etc")
    Traceback (most recent call last):
    ...
    idgen.errors.ArtifactError: 'net': the name '/etc' would leave the folder; a factor is named by its task id
    """
    for part in parts:
        if not isinstance(part, str) or not _COMPONENT.match(part) or part in {".", ".."}:
            raise ArtifactError(
                f"{str(folder)!r}: the name {part!r} would leave the folder; a factor is named by its task id"
            )
    return folder.joinpath(*parts)


def _digest(content: Mapping[str, Any]) -> str:
    body = {k: v for k, v in content.items() if k != "digest"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _walk(folder: Path) -> dict[str, Path]:
    """Every regular file under ``folder`` by its relative POSIX path; links and special files are refused."""
    files: dict[str, Path] = {}
    for root, directories, names in os.walk(folder, followlinks=False):
        base = Path(root)
        for name in directories + names:
            path = base / name
            relative = path.relative_to(folder).as_posix()
            if path.is_symlink():
                raise ArtifactError(f"{str(folder)!r}: {relative} is a link; a network folder holds plain files only")
            if name in names:
                if not path.is_file():
                    raise ArtifactError(f"{str(folder)!r}: {relative} is not a regular file")
                files[relative] = path
    return files


def write_manifest(
    folder: Path, network: Mapping[str, Any], tasks: Mapping[str, Any], factors: Mapping[str, Any]
) -> None:
    """Hash every file now in ``folder`` and write ``manifest.json`` (call it after the last other file)."""
    files = {name: sha256_file(path) for name, path in sorted(_walk(folder).items()) if name != MANIFEST_FILE}
    content: dict[str, Any] = {
        "format": FORMAT,
        "network": dict(network),
        "tasks": dict(tasks),
        "factors": dict(factors),
        "files": files,
    }
    content["digest"] = _digest(content)
    (folder / MANIFEST_FILE).write_text(json.dumps(content, indent=1, sort_keys=True))


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of ``folder``, checked for form and for its own digest (not yet against the files)."""
    path = folder / MANIFEST_FILE
    if not path.is_file():
        raise ArtifactError(
            f"{str(folder)!r} has no {MANIFEST_FILE}: it was not written by SamplingNetwork.save (or by an idgen "
            "older than manifests); save the network again"
        )
    try:
        content = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtifactError(f"{path} is not readable JSON: {error}") from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        found = content.get("format") if isinstance(content, dict) else type(content).__name__
        raise ArtifactError(f"{path} is not an idgen manifest (format {found!r}, expected {FORMAT!r})")
    for key, kind in (("network", dict), ("tasks", dict), ("factors", dict), ("files", dict), ("digest", str)):
        if not isinstance(content.get(key), kind):
            raise ArtifactError(f"{path} lacks a valid {key!r} entry")
    if content["digest"] != _digest(content):
        raise ArtifactError(f"{path} was edited after it was written (its digest does not match its content)")
    return content


def verify_files(folder: Path, manifest: Mapping[str, Any]) -> None:
    """Check that ``folder`` holds exactly the manifest's files, each with its recorded sha256."""
    expected: Mapping[str, Any] = manifest["files"]
    present = {name: path for name, path in _walk(folder).items() if name != MANIFEST_FILE}
    for name in sorted(expected):
        if name not in present:
            raise ArtifactError(f"{folder / name} is listed in {MANIFEST_FILE} but missing")
    for name in sorted(present):
        if name not in expected:
            raise ArtifactError(f"{folder / name} is not listed in {MANIFEST_FILE} (a file was added to the folder)")
        if sha256_file(present[name]) != expected[name]:
            raise ArtifactError(f"{folder / name} does not match its sha256 in {MANIFEST_FILE}: it was changed")
