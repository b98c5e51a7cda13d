"""The data contract: tables of named columns and the type of each variable.

A *table* is a ``dict[str, numpy.ndarray]`` whose arrays share their first axis (one row per unit).
Each variable is one of three kinds:

``discrete``
    integer categories, array shape ``(N,)``;
``continuous``
    float vectors, array shape ``(N,)`` or ``(N, d)`` (stored as ``(N, d)``);
``image``
    float images with pixels in [0, 1], array shape ``(N, C, H, W)``.

Users hand idgen a pandas ``DataFrame`` or a dict of arrays or tensors; :func:`as_table` turns either into
a table and :func:`infer_types` decides each variable's kind (an explicit ``variable_types`` override
wins). Both raise :class:`~idgen.errors.DataError` naming the offending column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from idgen.errors import DataError

__all__ = [
    "Table",
    "VariableType",
    "as_table",
    "infer_types",
    "type_reason",
    "parse_types",
    "check_columns",
    "num_rows",
    "take_rows",
    "spread_rows",
]

#: a float column whose values are all integers and take at most this many distinct values is discrete
MAX_INFERRED_CATEGORIES = 10
#: an integer column with more distinct values than this is a quantity (amounts, counts), not categories:
#: continuous unless ``variable_types`` says otherwise (pandas reads whole-dollar amounts as int64)
MAX_INTEGER_CATEGORIES = 50

Table = dict[str, np.ndarray]
Kind = Literal["discrete", "continuous", "image"]
KINDS: tuple[str, ...] = ("discrete", "continuous", "image")


@dataclass(frozen=True)
class VariableType:
    """Kind and shape of one variable.

    Parameters
    ----------
    kind : {"discrete", "continuous", "image"}
    shape : tuple of int
        Per-row shape: ``()`` for discrete, ``(d,)`` for continuous, ``(C, H, W)`` for images.
    categories : tuple of int
        For discrete variables, the sorted category values seen in the data.

    Examples
    --------
    >>> VariableType("discrete", (), (0, 1)).describe()
    'discrete{0,1}'
    >>> VariableType("image", (3, 28, 28)).describe()
    'image[3x28x28]'
    """

    kind: Kind
    shape: tuple[int, ...] = ()
    categories: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DataError(f"unknown variable kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.kind == "image" and len(self.shape) != 3:
            raise DataError(f"an image variable needs a (C, H, W) shape, got {self.shape}")

    def describe(self) -> str:
        """Short text form used in plans and logs."""
        if self.kind == "discrete":
            shown = ",".join(str(c) for c in self.categories[:8]) + (",…" if len(self.categories) > 8 else "")
            return f"discrete{{{shown}}}"
        return f"{self.kind}[{'x'.join(str(s) for s in self.shape)}]"

    def to_json(self) -> dict[str, Any]:
        """JSON form (see :meth:`from_json`)."""
        return {"kind": self.kind, "shape": list(self.shape), "categories": list(self.categories)}

    @classmethod
    def from_json(cls, spec: Mapping[str, Any]) -> VariableType:
        """Inverse of :meth:`to_json`."""
        return cls(spec["kind"], tuple(spec.get("shape", ())), tuple(int(c) for c in spec.get("categories", ())))


def as_table(data: Any, required: Iterable[str] = ()) -> Table:
    """Convert a DataFrame or a mapping of arrays/tensors into a validated table.

    Parameters
    ----------
    data : pandas.DataFrame or mapping of str to array-like
    required : iterable of str
        Columns that must be present.

    Raises
    ------
    DataError
        Missing columns, ragged lengths, NaN/inf values, non-numeric columns or an empty table.

    Examples
    --------
    >>> table = as_table({"X": [0, 1, 1], "Y": [1.5, 0.0, 2.0]})
    >>> {name: column.dtype.kind for name, column in table.items()}
    {'X': 'i', 'Y': 'f'}
    """
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # pandas DataFrame
        columns: dict[str, Any] = {str(c): data[c].to_numpy() for c in data.columns}
    elif isinstance(data, Mapping):
        columns = {str(k): v for k, v in data.items()}
    else:
        raise DataError(f"data must be a pandas DataFrame or a dict of arrays, got {type(data).__name__}")
    table: Table = {}
    for name, column in columns.items():
        if hasattr(column, "detach"):  # torch tensor
            column = column.detach().cpu().numpy()
        array = np.asarray(column)
        if array.dtype == object or array.dtype.kind not in "biuf":
            raise DataError(f"column {name!r} has dtype {array.dtype}; expected integers (discrete) or floats")
        if array.ndim == 0:
            raise DataError(f"column {name!r} is a scalar; expected one value per row")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise DataError(f"column {name!r} contains NaN or infinite values")
        if array.dtype.kind == "b":
            array = array.astype(np.int64)
        table[name] = array
    missing = [c for c in required if c not in table]
    if missing:
        raise DataError(f"data is missing column(s) {', '.join(missing)}; it has {', '.join(table) or 'none'}")
    lengths = {name: len(column) for name, column in table.items()}
    if len(set(lengths.values())) > 1:
        raise DataError(f"columns have different lengths: {lengths}")
    if table and not next(iter(lengths.values())):
        raise DataError("data has no rows")
    return table


def infer_types(
    table: Mapping[str, np.ndarray], overrides: Mapping[str, str | VariableType] | None = None
) -> dict[str, VariableType]:
    """Decide each variable's kind from its array, with explicit overrides.

    Integer 1-D columns with at most ``MAX_INTEGER_CATEGORIES`` distinct values are discrete, and so are
    1-D float columns whose values are all integers with at most ``MAX_INFERRED_CATEGORIES`` distinct
    values (a CSV stores a binary column as 0.0/1.0); integer columns with more values (amounts, counts)
    and other float 1-D/2-D columns are continuous, 4-D arrays images. An override may name the kind
    (``"discrete"``) or give a full :class:`VariableType`; :func:`type_reason` says why a kind was chosen.

    Examples
    --------
    >>> import numpy as np
    >>> types = infer_types({"X": np.array([0, 2, 2]), "Z": np.zeros((3, 2)), "I": np.zeros((3, 1, 4, 4))})
    >>> [types[v].describe() for v in ("X", "Z", "I")]
    ['discrete{0,2}', 'continuous[2]', 'image[1x4x4]']
    >>> infer_types({"T": np.array([0.0, 1.0, 1.0])})["T"].describe()
    'discrete{0,1}'
    >>> infer_types({"Spend": np.arange(100, 200)})["Spend"].describe()
    'continuous[1]'
    """
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(table)
    if unknown:
        raise DataError(f"variable_types names unknown column(s) {', '.join(sorted(unknown))}")
    types: dict[str, VariableType] = {}
    for name, column in table.items():
        wanted = overrides.get(name)
        if isinstance(wanted, VariableType):
            types[name] = wanted
            continue
        kind = wanted or _default_kind(name, column)
        if kind == "discrete":
            if column.ndim != 1:
                raise DataError(f"discrete variable {name!r} must be a 1-D column, got shape {column.shape}")
            if column.dtype.kind == "f" and not np.array_equal(column, np.round(column)):
                raise DataError(f"discrete variable {name!r} has non-integer values")
            types[name] = VariableType("discrete", (), tuple(int(v) for v in np.unique(column)))
        elif kind == "continuous":
            if column.ndim not in (1, 2):
                raise DataError(f"continuous variable {name!r} must be (N,) or (N, d), got shape {column.shape}")
            types[name] = VariableType("continuous", (1 if column.ndim == 1 else column.shape[1],))
        elif kind == "image":
            if column.ndim != 4:
                raise DataError(f"image variable {name!r} must be (N, C, H, W), got shape {column.shape}")
            types[name] = VariableType("image", tuple(int(s) for s in column.shape[1:]))
        else:
            raise DataError(f"unknown variable kind {kind!r} for {name!r}; expected one of {', '.join(KINDS)}")
    return types


def _default_kind(name: str, column: np.ndarray) -> str:
    return _inferred(name, column)[0]


def _inferred(name: str, column: np.ndarray) -> tuple[str, str]:
    """``(kind, why)`` for a column without an override."""
    if column.ndim == 4:
        return "image", f"a 4-D float array {tuple(column.shape[1:])}"
    if column.ndim == 1 and column.dtype.kind in "iu":
        distinct = len(np.unique(column))
        if distinct <= MAX_INTEGER_CATEGORIES:
            return "discrete", f"integer column with {distinct} distinct values"
        return "continuous", f"integer column with {distinct} distinct values, more than {MAX_INTEGER_CATEGORIES}"
    if column.ndim == 1 and _few_integral_values(column):
        return "discrete", f"float column of whole numbers with {len(np.unique(column))} distinct values"
    if column.ndim in (1, 2):
        if column.ndim == 1 and np.array_equal(column, np.round(column)):
            return "continuous", f"float column of whole numbers with more than {MAX_INFERRED_CATEGORIES} values"
        return "continuous", "float column" if column.ndim == 1 else f"float matrix with {column.shape[1]} columns"
    raise DataError(f"cannot infer the kind of {name!r} from shape {column.shape}; pass variable_types")


def _few_integral_values(column: np.ndarray) -> bool:
    if not np.array_equal(column, np.round(column)):
        return False
    return len(np.unique(column)) <= MAX_INFERRED_CATEGORIES


def type_reason(name: str, column: np.ndarray, overrides: Mapping[str, str | VariableType] | None = None) -> str:
    """Why :func:`infer_types` gives ``name`` its kind, in a few words.

    Examples
    --------
    >>> import numpy as np
    >>> type_reason("T", np.array([0.0, 1.0, 0.0]))
    'float column of whole numbers with 2 distinct values'
    >>> type_reason("T", np.array([0.0, 1.0]), {"T": "continuous"})
    'set by variable_types'
    """
    if overrides and name in overrides:
        return "set by variable_types"
    return _inferred(name, column)[1]


def parse_types(text: str | Mapping[str, str] | None) -> dict[str, str]:
    """Read ``"T=discrete,Y=continuous"`` (the CLI's ``--types``) into ``{"T": "discrete", ...}``.

    A mapping is checked and returned as a dict; names may hold blanks (``"Side quest=discrete"``).

    Examples
    --------
    >>> parse_types("T=discrete, In-game Purchases=continuous")
    {'T': 'discrete', 'In-game Purchases': 'continuous'}
    """
    if text is None:
        return {}
    if isinstance(text, Mapping):
        items = [(str(k), str(v)) for k, v in text.items()]
    else:
        items = []
        for part in str(text).split(","):
            if not part.strip():
                continue
            name, sep, kind = part.rpartition("=")
            if not sep or not name.strip():
                raise DataError(f"--types takes NAME=KIND pairs separated by commas, got {part.strip()!r}")
            items.append((name.strip(), kind.strip()))
    for name, kind in items:
        if kind not in KINDS:
            raise DataError(f"type {kind!r} for {name!r} is not a kind; expected one of {', '.join(KINDS)}")
    return dict(items)


def check_columns(table: Mapping[str, np.ndarray], types: Mapping[str, VariableType], columns: Iterable[str]) -> None:
    """Check that ``columns`` exist in ``table`` with the shapes ``types`` promise.

    Examples
    --------
    >>> import numpy as np
    >>> check_columns({"X": np.zeros((2, 3))}, {"X": VariableType("continuous", (2,))}, ["X"])
    Traceback (most recent call last):
    ...
    idgen.errors.DataError: column 'X' has per-row shape (3,); the model expects continuous[2]
    """
    for name in columns:
        if name not in table:
            raise DataError(f"missing column {name!r}")
        expected = types[name]
        shape = tuple(table[name].shape[1:])
        if expected.kind == "continuous" and shape == ():
            shape = (1,)
        if shape != expected.shape:
            raise DataError(f"column {name!r} has per-row shape {shape}; the model expects {expected.describe()}")


def num_rows(table: Mapping[str, np.ndarray]) -> int:
    """Number of rows of a table (0 for an empty one)."""
    return len(next(iter(table.values()))) if table else 0


def take_rows(table: Mapping[str, np.ndarray], index: np.ndarray | slice) -> Table:
    """The rows ``index`` of every column."""
    return {name: column[index] for name, column in table.items()}


def spread_rows(available: int, size: int, generator: np.random.Generator) -> np.ndarray:
    """``size`` row indices into ``available`` rows: each row ``size // available`` times, the rest at random
    without replacement, shuffled.

    Unlike a bootstrap draw, every source row is used (almost) equally often, so the synthetic dataset
    carries no resampling noise of its source on top of its models' draws.

    Examples
    --------
    >>> import numpy as np
    >>> rows = spread_rows(4, 10, np.random.default_rng(0))
    >>> sorted(np.bincount(rows, minlength=4).tolist())
    [2, 2, 3, 3]
    """
    whole = np.tile(np.arange(available), size // available)
    rest = generator.choice(available, size % available, replace=False)
    return generator.permutation(np.concatenate([whole, rest]))
