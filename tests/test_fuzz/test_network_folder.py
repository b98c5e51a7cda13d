"""Tampered network folders: every change is refused in one line before anything samples.

Two families of cases. *Plain* tampering (a byte flipped, a file truncated, emptied, removed, added or
replaced by a link; the manifest itself edited) must be caught by the manifest. *Resealed* tampering
rewrites the manifest afterwards, as someone who edits a folder with idgen's own code might, so the
deeper checks must catch it: tensors (finite, probabilities in [0, 1] summing to 1, indices in range),
variable kinds against the factors, factor paths inside the folder, task content ids, the free-input pool.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import idgen
from idgen.demo import NAPKIN, napkin_scm
from idgen.runtime import SamplingNetwork
from idgen.runtime.manifest import MANIFEST_FILE, read_manifest, write_manifest
from test_fuzz.fuzz_outcomes import TALLY, cli_refused, refused
from trainers.base import _write_checksums

Tamper = Callable[[Path], None]


def _copy(folder: Path, tmp_path: Path, name: str = "copy") -> Path:
    target = tmp_path / name
    shutil.copytree(folder, target)
    return target


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _sample(folder: Path) -> Callable[[], object]:
    return lambda: SamplingNetwork.load(folder).sample(50, do={"X": 0}, seed=0)


def _reseal(folder: Path) -> None:
    """Rewrite the checksums and manifest over the folder's current files, keeping the records (a careful tamperer)."""
    for factor in (folder / "factors").iterdir():
        if factor.is_dir() and not factor.is_symlink():
            (factor / "checksums.json").unlink(missing_ok=True)
            _write_checksums(factor)
    content = json.loads((folder / MANIFEST_FILE).read_text())
    (folder / MANIFEST_FILE).unlink()
    write_manifest(folder, content["network"], content["tasks"], content["factors"])


def _factor(folder: Path) -> Path:
    return next((folder / "factors").iterdir())


# ---------------------------------------------------------------------------------------- plain tampering
def _flip(position: float) -> Tamper:
    def tamper(path: Path) -> None:
        data = bytearray(path.read_bytes())
        data[min(int(len(data) * position), len(data) - 1)] ^= 0x01
        path.write_bytes(bytes(data))

    return tamper


FILE_CHANGES: dict[str, Tamper] = {
    "flip first byte": _flip(0.0),
    "flip middle byte": _flip(0.5),
    "flip last byte": _flip(1.0),
    "truncate": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "empty": lambda p: p.write_bytes(b""),
    "delete": lambda p: p.unlink(),
    "link": lambda p: (p.unlink(), p.symlink_to("/etc/hostname")),
}


@pytest.mark.parametrize("which", ["napkin_folder", "free_input_folder"])
def test_any_change_to_any_file_is_refused(which: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    folder: Path = request.getfixturevalue(which)
    for k, name in enumerate(_files(folder)):
        for change, tamper in FILE_CHANGES.items():
            copy = _copy(folder, tmp_path, f"{k}-{change}")
            tamper(copy / name)
            assert refused(_sample(copy), f"{which}: {change} {name}") == "clear error"


ADDITIONS: dict[str, Tamper] = {
    "file at the top": lambda f: (f / "extra.txt").write_text("x"),
    "file in a factor folder": lambda f: (_factor(f) / "notes.json").write_text("{}"),
    "empty safetensors in a factor": lambda f: save_file({}, str(_factor(f) / "more.safetensors")),
    "link to a folder": lambda f: (f / "elsewhere").symlink_to("/tmp", target_is_directory=True),
    "manifest is []": lambda f: (f / MANIFEST_FILE).write_text("[]"),
    "manifest is {}": lambda f: (f / MANIFEST_FILE).write_text("{}"),
    "manifest digest edited": lambda f: _edit_json(f / MANIFEST_FILE, lambda m: m.update(digest="0" * 64)),
    "manifest hash edited": lambda f: _edit_json(f / MANIFEST_FILE, lambda m: m["files"].update({"network.json": "0"})),
    "network.json is []": lambda f: (f / "network.json").write_text("[]"),
    "network.json without factors": lambda f: _edit_json(f / "network.json", lambda h: h.pop("factors")),
}


def _edit_json(path: Path, edit: Callable[[dict], object]) -> None:
    content = json.loads(path.read_text())
    edit(content)
    path.write_text(json.dumps(content))


@pytest.mark.parametrize("change", sorted(ADDITIONS))
def test_added_files_and_edited_headers_are_refused(change: str, napkin_folder: Path, tmp_path: Path) -> None:
    copy = _copy(napkin_folder, tmp_path)
    ADDITIONS[change](copy)
    assert refused(_sample(copy), change) == "clear error"


def test_a_factor_copied_from_a_network_fitted_on_other_data_is_refused(napkin_folder: Path, tmp_path: Path) -> None:
    other = idgen.fit(
        idgen.compile(NAPKIN, "P(Y | do(X))"),
        napkin_scm().sample(2000, seed=7),
        backend="tabular",
        workdir=tmp_path / "w",
    )
    other.save(tmp_path / "other")
    copy = _copy(napkin_folder, tmp_path)
    shutil.rmtree(_factor(copy))
    shutil.copytree(
        _factor(tmp_path / "other"), _factor(napkin_folder).name and copy / "factors" / _factor(napkin_folder).name
    )
    assert read_manifest(tmp_path / "other")["factors"] != read_manifest(copy)["factors"]  # other data, other record
    assert refused(_sample(copy), "factor from other data") == "clear error"


# ---------------------------------------------------------------------------------------- resealed tampering
def _edit_state(edit: Callable[[dict[str, np.ndarray]], None]) -> Tamper:
    def tamper(folder: Path) -> None:
        path = _factor(folder) / "state.safetensors"
        arrays = dict(load_file(str(path)))
        edit(arrays)
        save_file(arrays, str(path))

    return tamper


def _set(name: str, index: object, value: float) -> Callable[[dict[str, np.ndarray]], None]:
    def edit(arrays: dict[str, np.ndarray]) -> None:
        arrays[name] = arrays[name].copy()
        arrays[name][index] = value  # type: ignore[index]

    return edit


def _kind(variable: str, spec: dict) -> Tamper:
    return lambda f: _edit_json(f / "network.json", lambda h: h["types"].update({variable: spec}))


def _rename_factor(name: str) -> Tamper:
    def tamper(folder: Path) -> None:
        old = _factor(folder).name
        _edit_json(folder / "network.json", lambda h: h.update(factors=[name]))
        _edit_json(folder / MANIFEST_FILE, lambda m: m["factors"].update({name: m["factors"].pop(old)}))

    return tamper


def _retask(folder: Path) -> None:
    def edit(manifest: dict) -> None:
        for spec in manifest["tasks"].values():
            spec["source"] = "observed"

    _edit_json(folder / MANIFEST_FILE, edit)


def _edit_factor_json(edit: Callable[[dict], object]) -> Tamper:
    return lambda f: _edit_json(_factor(f) / "factor.json", edit)


RESEALED: dict[str, Tamper] = {
    "NaN probability": _edit_state(_set("cumulative", 0, float("nan"))),
    "infinite probability": _edit_state(_set("cumulative", 0, float("inf"))),
    "probability above 1": _edit_state(_set("cumulative", 0, 1.5)),
    "probabilities do not sum to 1": _edit_state(_set("cumulative", -1, 0.9)),
    "negative probability": _edit_state(_set("cumulative", 0, -0.1)),
    "target outside its categories": _edit_state(_set("entry_targets", (0, 0), 7)),
    "configuration outside its categories": _edit_state(_set("configs", (0, 0), -3)),
    "entry index out of range": _edit_state(_set("entry_config", -1, 99)),
    "float configurations": _edit_state(lambda a: a.update(configs=a["configs"].astype(np.float32))),
    "missing tensor": _edit_state(lambda a: a.pop("cumulative")),
    "wrong shapes": _edit_state(lambda a: a.update(entry_targets=a["entry_targets"][:1])),
    "kind of X changed to continuous": _kind("X", {"kind": "continuous", "shape": [1], "categories": []}),
    "categories of X changed": _kind("X", {"kind": "discrete", "shape": [], "categories": [0, 1, 2]}),
    "kind of Y changed to image": _kind("Y", {"kind": "image", "shape": [1, 2, 2], "categories": []}),
    "factor id an absolute path": _rename_factor("/etc"),
    "factor id leaves the folder": _rename_factor(".."),
    "factor id a relative path": _rename_factor("../copy/factors"),
    "factor id unknown": _rename_factor("ffffffffffff"),
    "task source changed": _retask,
    "factor options changed": _edit_factor_json(lambda h: h.update(options={"steps": 5})),
    "factor targets changed": _edit_factor_json(lambda h: h.update(targets=["X"])),
    "factor backend changed": _edit_factor_json(lambda h: h.update(backend="mlp-diffusion")),
    "wiring changed": lambda f: _edit_json(
        f / "network.json", lambda h: h["query"]["network"]["nodes"][0].update(name="Z")
    ),
    "query changed": lambda f: _edit_json(f / "network.json", lambda h: h["query"].update(query="P(Y)")),
}


@pytest.mark.parametrize("change", sorted(RESEALED))
def test_resealed_tampering_is_caught_by_the_deeper_checks(change: str, napkin_folder: Path, tmp_path: Path) -> None:
    copy = _copy(napkin_folder, tmp_path)
    RESEALED[change](copy)
    _reseal(copy)
    assert refused(_sample(copy), f"resealed: {change}") == "clear error"


POOL_CHANGES: dict[str, Callable[[dict[str, np.ndarray]], None]] = {
    "value outside the support": _set("Z", 0, 5),
    "float values": lambda a: a.update(Z=a["Z"].astype(np.float64)),
    "extra column": lambda a: a.update(W=a["Z"].copy()),
    "missing column": lambda a: a.pop("Z"),
}


@pytest.mark.parametrize("change", sorted(POOL_CHANGES))
def test_a_resealed_free_input_pool_is_checked(change: str, free_input_folder: Path, tmp_path: Path) -> None:
    copy = _copy(free_input_folder, tmp_path)
    path = copy / "free_inputs.safetensors"
    arrays = dict(load_file(str(path)))
    POOL_CHANGES[change](arrays)
    save_file(arrays, str(path))
    _reseal(copy)
    assert refused(_sample(copy), f"resealed pool: {change}") == "clear error"


def test_a_tampered_factor_in_the_workdir_is_refused_when_fit_resumes(tmp_path: Path) -> None:
    plan = idgen.compile(NAPKIN, "P(Y | do(X))")
    data = napkin_scm().sample(1000, seed=5)
    idgen.fit(plan, data, backend="tabular", workdir=tmp_path)
    state = next((tmp_path / "tasks").glob("*/state.safetensors"))
    _flip(0.5)(state)
    assert (
        refused(lambda: idgen.fit(plan, data, backend="tabular", workdir=tmp_path), "workdir factor") == "clear error"
    )


# ---------------------------------------------------------------------------------------- controls and CLI
def test_an_untouched_copy_loads_and_samples_the_same(napkin_folder: Path, tmp_path: Path) -> None:
    copy = _copy(napkin_folder, tmp_path)
    original = SamplingNetwork.load(napkin_folder).sample(500, do={"X": 1}, seed=3)
    assert SamplingNetwork.load(copy).sample(500, do={"X": 1}, seed=3).equals(original)
    TALLY["valid"] += 1


def test_load_of_something_that_is_not_a_folder_is_refused(napkin_folder: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "empty").mkdir()
    for path in (None, 3, "", tmp_path / "missing", tmp_path / "file", tmp_path / "empty", napkin_folder / "factors"):
        assert refused(lambda p=path: SamplingNetwork.load(p), f"load({path!r})") == "clear error"  # type: ignore[misc]


def test_the_cli_refuses_a_tampered_folder_in_one_line(napkin_folder: Path, tmp_path: Path) -> None:
    copy = _copy(napkin_folder, tmp_path)
    _flip(0.5)(_factor(copy) / "state.safetensors")
    assert cli_refused(["sample", str(copy), "--do", "X=1"]) == "clear error"
    copy = _copy(napkin_folder, tmp_path, "resealed")
    RESEALED["NaN probability"](copy)
    _reseal(copy)
    assert cli_refused(["sample", str(copy), "--do", "X=1", "--out", str(tmp_path / "s.csv")]) == "clear error"
    assert not (tmp_path / "s.csv").exists()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".csv")]
