"""The factor-model protocol every backend implements, and the registry of backends by name.

A *factor model* is a conditional generative model of one task's ``targets`` given its ``conditioning``
columns: it is fitted on a table, samples targets for a batch of conditioning rows, and saves itself to a
folder (``factor.json`` plus safetensors files and their ``checksums.json``; nothing is ever unpickled).
Backends register under a name (``tabular``, ``mlp-diffusion``, ``unet-diffusion``, ``latent-diffusion``)
and the plan picks one per task.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from idgen.data import Table, VariableType
from idgen.errors import ArtifactError, DataError, IdgenError, UsageError
from idgen.files import sha256_file
from idgen.names import quote_all

__all__ = ["FactorModel", "register_backend", "get_backend", "backend_names", "load_factor", "atomic_folder"]

FACTOR_FILE = "factor.json"
CHECKSUM_FILE = "checksums.json"
_BACKENDS: dict[str, type[FactorModel]] = {}
#: backends living in modules that are imported only when asked for (diffusers is heavy)
_LAZY_BACKENDS = {
    "mlp-diffusion": "trainers.diffusion",
    "unet-diffusion": "trainers.diffusion",
    "latent-diffusion": "trainers.latent_diffusion",
}


class FactorModel(ABC):
    """A conditional generative model of ``targets`` given ``conditioning``.

    Parameters
    ----------
    targets : sequence of str
        Variables the model samples.
    conditioning : sequence of str
        Variables the model is conditioned on (may be empty).
    types : mapping of str to VariableType
        Types of at least every target and conditioning variable.
    **options
        Backend options (steps, batch size, …); unknown options raise :class:`IdgenError`.
    """

    backend: ClassVar[str] = ""
    #: option names and defaults this backend accepts
    default_options: ClassVar[dict[str, Any]] = {}
    #: options that change how a fitted model samples or reports, not what it learns: a saved model is
    #: reused when only these differ, and the caller's values replace the saved ones
    runtime_options: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self, targets: Sequence[str], conditioning: Sequence[str], types: Mapping[str, VariableType], **options: Any
    ) -> None:
        self.targets = tuple(targets)
        self.conditioning = tuple(conditioning)
        missing = [v for v in self.targets + self.conditioning if v not in types]
        if missing:
            raise DataError(f"no variable type known for {', '.join(missing)}")
        self.types = {v: types[v] for v in self.targets + self.conditioning}
        unknown = set(options) - set(self.default_options)
        if unknown:
            raise UsageError(
                f"backend {self.backend!r} has no option(s) {', '.join(sorted(unknown))}; "
                f"it accepts {', '.join(sorted(self.default_options)) or 'none'}"
            )
        self.options = {**self.default_options, **options}
        reason = self.unsupported(self.types)
        if reason:
            raise IdgenError(f"backend {self.backend!r} cannot model {self.describe()}: {reason}")

    def describe(self) -> str:
        """``P(targets | conditioning)`` as text."""
        given = f" | {quote_all(self.conditioning)}" if self.conditioning else ""
        return f"P({quote_all(self.targets)}{given})"

    def unsupported(self, types: Mapping[str, VariableType]) -> str | None:
        """Why this backend cannot model these variable types, or ``None`` when it can."""
        return None

    @abstractmethod
    def fit(self, table: Table, *, seed: int = 0, workdir: Path | None = None) -> dict[str, Any]:
        """Fit on ``table`` (which holds every target and conditioning column); return a JSON-able log.

        ``workdir`` is a folder private to this fit, for checkpoints that let an interrupted fit resume.
        """

    @abstractmethod
    def sample(self, conditioning: Table, n: int, *, seed: int) -> Table:
        """Draw one sample of the targets for each of ``n`` rows of ``conditioning`` (same seed, same draw)."""

    @abstractmethod
    def state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The fitted state as (JSON-able metadata, dict of named numpy arrays or tensors)."""

    @abstractmethod
    def load_state(self, metadata: Mapping[str, Any], arrays: Mapping[str, Any]) -> None:
        """Restore what :meth:`state` returned."""

    # ------------------------------------------------------------------ save / load
    def save(self, path: str | Path) -> None:
        """Write the model to the folder ``path`` atomically (``factor.json`` + ``state.safetensors``)."""
        metadata, arrays = self.state()
        with atomic_folder(Path(path)) as folder:
            _save_arrays(arrays, folder / "state.safetensors")
            header = {
                "backend": self.backend,
                "targets": list(self.targets),
                "conditioning": list(self.conditioning),
                "types": {v: t.to_json() for v, t in self.types.items()},
                "options": self.options,
                "metadata": metadata,
            }
            (folder / FACTOR_FILE).write_text(json.dumps(header, indent=1, sort_keys=True))
            _write_checksums(folder)


def load_factor(path: str | Path) -> FactorModel:
    """Load a model written by :meth:`FactorModel.save`; refuses anything incomplete or corrupt.

    Every floating-point tensor must be finite (for every backend); each backend's :meth:`load_state`
    checks the rest of its state (the tabular one: probabilities in [0, 1] summing to 1, indices in range).
    """
    folder = Path(path)
    header_file = folder / FACTOR_FILE
    if not header_file.is_file():
        raise ArtifactError(f"{str(folder)!r} holds no saved factor model ({FACTOR_FILE} missing)")
    _verify_checksums(folder)
    try:
        header = json.loads(header_file.read_text())
        types = {v: VariableType.from_json(t) for v, t in header["types"].items()}
        cls = get_backend(header["backend"])
        model = cls(header["targets"], header["conditioning"], types, **header["options"])
        arrays = _load_arrays(folder / "state.safetensors")
        for name, array in arrays.items():
            if array.dtype.kind in "fc" and not bool(np.isfinite(array).all()):
                raise ArtifactError(f"{folder / 'state.safetensors'}: tensor {name!r} holds NaN or infinite values")
        model.load_state(header["metadata"], arrays)
    except ArtifactError:
        raise
    except IdgenError as exc:
        raise ArtifactError(f"cannot load factor model from {str(folder)!r}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a corrupt artifact is one clear error, never a half-loaded model
        raise ArtifactError(f"cannot load factor model from {str(folder)!r}: {type(exc).__name__}: {exc}") from None
    return model


def register_backend(cls: type[FactorModel]) -> type[FactorModel]:
    """Class decorator adding a backend to the registry under ``cls.backend``."""
    if not cls.backend:
        raise IdgenError(f"{cls.__name__} has no backend name")
    _BACKENDS[cls.backend] = cls
    return cls


def get_backend(name: str) -> type[FactorModel]:
    """The backend class registered as ``name`` (importing its module on first use)."""
    if name not in _BACKENDS and name in _LAZY_BACKENDS:
        importlib.import_module(_LAZY_BACKENDS[name])
    if name not in _BACKENDS:
        importlib.import_module("trainers.tabular")
    try:
        return _BACKENDS[name]
    except KeyError:
        raise IdgenError(f"unknown backend {name!r}; available: {', '.join(backend_names())}") from None


def backend_names() -> list[str]:
    """Every backend name, registered or importable."""
    return sorted(set(_BACKENDS) | set(_LAZY_BACKENDS) | {"tabular"})


class atomic_folder:  # noqa: N801 - used as a context manager like tempfile's helpers
    """Write a folder under a temporary name and rename it into place only when the block succeeds.

    An interrupted write leaves no folder at ``path`` (so a resumed run redoes it) and a finished one is
    never half-overwritten.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __enter__(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent))
        return self.tmp

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        if self.path.exists():
            old = self.path.with_name(f".{self.path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(self.path, old)
            os.replace(self.tmp, self.path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.tmp, self.path)


def _write_checksums(folder: Path) -> None:
    """``checksums.json``: the sha256 of every other file of a saved factor."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != CHECKSUM_FILE)
    (folder / CHECKSUM_FILE).write_text(json.dumps({p.name: sha256_file(p) for p in files}, indent=1))


def _verify_checksums(folder: Path) -> None:
    """Refuse a factor whose files differ from its ``checksums.json`` (factors saved before it existed have none)."""
    path = folder / CHECKSUM_FILE
    if not path.is_file():
        return
    try:
        expected = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtifactError(f"{path} is not readable JSON: {error}") from None
    if not isinstance(expected, dict):
        raise ArtifactError(f"{path} is not a mapping of file names to sha256")
    present = {p.name for p in folder.iterdir() if p.name != CHECKSUM_FILE}
    for name in sorted(present | set(expected)):
        file = folder / str(name)
        if name not in expected or name not in present:
            raise ArtifactError(
                f"{file} is {'not listed in' if name not in expected else 'missing but listed in'} {path.name}"
            )
        if file.is_symlink() or not file.is_file() or sha256_file(file) != expected[name]:
            raise ArtifactError(f"{file} does not match its sha256 in {path.name}: it was changed")


def _save_arrays(arrays: Mapping[str, Any], path: Path) -> None:
    import numpy as np
    from safetensors.numpy import save_file

    converted = {}
    for name, value in arrays.items():
        if hasattr(value, "detach"):
            value = value.detach().cpu().float().numpy() if value.is_floating_point() else value.detach().cpu().numpy()
        converted[name] = np.ascontiguousarray(value)
    save_file(converted, str(path))


def _load_arrays(path: Path) -> dict[str, Any]:
    from safetensors.numpy import load_file

    if not path.is_file():
        raise IdgenError(f"{str(path)!r} is missing")
    return dict(load_file(str(path)))
