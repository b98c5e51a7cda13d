"""Checkpoints (kill and resume, corruption refused), save/load round trips and seeded sampling."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from diffusion_tasks import coloured_squares

from idgen.data import infer_types
from idgen.errors import IdgenError
from trainers.base import load_factor
from trainers.diffusion import MLPDiffusion, UNetDiffusion

REPOSITORY = Path(__file__).resolve().parents[2]
#: a tiny model trained for many cheap steps, so that a kill lands in the middle of the run
RESUMABLE = {
    "steps": 1200,
    "checkpoint_every": 25,
    "log_every": 25,
    "width": 32,
    "depth": 1,
    "batch_size": 64,
    "progress": False,
}
FIT_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import torch
    torch.set_num_threads(1)
    from idgen.data import infer_types
    from trainers.diffusion import MLPDiffusion
    table = dict(np.load(sys.argv[1]))
    model = MLPDiffusion(["Y"], ["X"], infer_types(table), **json.loads(sys.argv[2]))
    model.fit(table, seed=0, workdir=sys.argv[3])
    """
)


def small_table(seed: int = 0) -> dict[str, np.ndarray]:
    generator = np.random.default_rng(seed)
    x = generator.integers(0, 2, 1000)
    return {"X": x, "Y": x * 2.0 + generator.normal(size=1000)}


def fit_mlp(workdir: Path | None, **options: Any) -> tuple[MLPDiffusion, dict[str, Any]]:
    table = small_table()
    model = MLPDiffusion(["Y"], ["X"], infer_types(table), **{**RESUMABLE, **options})
    return model, model.fit(table, seed=0, workdir=workdir)


def draw(model: MLPDiffusion, seed: int = 7) -> np.ndarray:
    return model.sample({"X": np.array([0, 1] * 50)}, 100, seed=seed)["Y"]


def latest(workdir: Path) -> Path:
    return max((workdir / "checkpoints").glob("step-*"))


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Fit in a subprocess, SIGKILL it once its first checkpoint exists, then fit again in this process."""
    folder = tmp_path_factory.mktemp("resume")
    workdir = folder / "work"
    np.savez(folder / "table.npz", **small_table())
    process = subprocess.Popen(
        [sys.executable, "-c", FIT_SCRIPT, str(folder / "table.npz"), json.dumps(RESUMABLE), str(workdir)],
        cwd=REPOSITORY,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not list((workdir / "checkpoints").glob("step-*")):
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert time.monotonic() < deadline, "no checkpoint appeared within 120 s"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = int(latest(workdir).name.removeprefix("step-"))
    resumed, log = fit_mlp(workdir)
    uninterrupted, _ = fit_mlp(folder / "uninterrupted")
    return {"killed_at": killed_at, "log": log, "resumed": resumed, "uninterrupted": uninterrupted, "workdir": workdir}


def test_killed_fit_resumes_from_its_last_checkpoint(killed_and_resumed: dict[str, Any]) -> None:
    log = killed_and_resumed["log"]
    assert 0 < killed_and_resumed["killed_at"] < RESUMABLE["steps"]
    assert (
        log["start_step"] >= killed_and_resumed["killed_at"] and log["start_step"] % RESUMABLE["checkpoint_every"] == 0
    )
    assert log["resumed_from"].endswith(f"step-{log['start_step']:08d}")


def test_resumed_fit_ends_with_the_configured_steps(killed_and_resumed: dict[str, Any]) -> None:
    log = killed_and_resumed["log"]
    assert log["steps"] == RESUMABLE["steps"] == killed_and_resumed["resumed"].trained_steps
    assert [step for step, _ in log["loss"]] == list(range(25, RESUMABLE["steps"] + 1, 25))
    assert json.loads((killed_and_resumed["workdir"] / "log.json").read_text())["start_step"] == log["start_step"]


def test_resumed_fit_equals_the_uninterrupted_fit(killed_and_resumed: dict[str, Any]) -> None:
    np.testing.assert_array_equal(draw(killed_and_resumed["resumed"]), draw(killed_and_resumed["uninterrupted"]))


def test_checkpoints_are_safetensors_and_json_and_only_the_newest_two_are_kept(
    killed_and_resumed: dict[str, Any],
) -> None:
    folders = sorted((killed_and_resumed["workdir"] / "checkpoints").iterdir())
    assert [folder.name for folder in folders] == ["step-00001175", "step-00001200"]
    for folder in folders:
        assert sorted(path.name for path in folder.iterdir()) == [
            "checkpoint.json",
            "ema.safetensors",
            "model.safetensors",
            "optimizer.safetensors",
        ]


def test_finished_fit_is_not_trained_again(tmp_path: Path) -> None:
    first, _ = fit_mlp(tmp_path, steps=40, checkpoint_every=20)
    second, log = fit_mlp(tmp_path, steps=40, checkpoint_every=20)
    assert log["start_step"] == 40 and log["samples_per_s"] is None
    np.testing.assert_array_equal(draw(first), draw(second))


def test_truncated_checkpoint_file_is_refused(tmp_path: Path) -> None:
    fit_mlp(tmp_path, steps=40, checkpoint_every=20)
    weights = latest(tmp_path) / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(IdgenError, match=r"model\.safetensors.*is corrupt"):
        fit_mlp(tmp_path, steps=40, checkpoint_every=20)


def test_flipped_byte_in_checkpoint_is_refused(tmp_path: Path) -> None:
    fit_mlp(tmp_path, steps=40, checkpoint_every=20)
    optimizer = latest(tmp_path) / "optimizer.safetensors"
    content = bytearray(optimizer.read_bytes())
    content[-1] ^= 0xFF
    optimizer.write_bytes(bytes(content))
    with pytest.raises(IdgenError, match="SHA-256 differs"):
        fit_mlp(tmp_path, steps=40, checkpoint_every=20)


def test_unreadable_checkpoint_record_is_refused(tmp_path: Path) -> None:
    fit_mlp(tmp_path, steps=40, checkpoint_every=20)
    (latest(tmp_path) / "checkpoint.json").write_text('{"step": 4')
    with pytest.raises(IdgenError, match="cannot read checkpoint.json"):
        fit_mlp(tmp_path, steps=40, checkpoint_every=20)


def test_checkpoint_of_another_configuration_is_refused(tmp_path: Path) -> None:
    fit_mlp(tmp_path, steps=40, checkpoint_every=20)
    with pytest.raises(IdgenError, match=r"different configuration or data \(differs in: options\)"):
        fit_mlp(tmp_path, steps=40, checkpoint_every=20, lr=0.01)


def test_log_reports_loss_curve_time_throughput_and_memory(tmp_path: Path) -> None:
    _, log = fit_mlp(tmp_path, steps=40, checkpoint_every=20, log_every=10)
    assert [step for step, _ in log["loss"]] == [10, 20, 30, 40]
    assert log["wall_time_s"] > 0 and log["samples_per_s"] > 0 and log["peak_memory_mb"] > 0
    assert json.loads((tmp_path / "log.json").read_text()) == log


def test_gradient_accumulation_trains_the_configured_steps() -> None:
    model, log = fit_mlp(None, steps=20, grad_accum=3)
    assert log["steps"] == 20 and log["grad_accum"] == 3 and model.trained_steps == 20


def test_64_bit_seeds_are_accepted() -> None:
    table = small_table()
    model = MLPDiffusion(["Y"], ["X"], infer_types(table), **{**RESUMABLE, "steps": 2})
    model.fit(table, seed=2**63 - 1)
    assert draw(model, seed=2**63 - 1).shape == (100, 1)


def test_same_seed_same_samples_and_another_seed_other_samples() -> None:
    model, _ = fit_mlp(None, steps=20)
    np.testing.assert_array_equal(draw(model, seed=3), draw(model, seed=3))
    assert not np.array_equal(draw(model, seed=3), draw(model, seed=4))


@pytest.mark.parametrize("sampler", ["dpm-solver++", "ddim", "ddpm"])
def test_mlp_save_load_round_trip_samples_identically(tmp_path: Path, sampler: str) -> None:
    table = {**small_table(), "D": np.arange(1000) % 3}
    model = MLPDiffusion(["Y", "D"], ["X"], infer_types(table), steps=20, sampler=sampler, progress=False)
    model.fit(table, seed=0)
    model.save(tmp_path / "factor")
    loaded = load_factor(tmp_path / "factor")
    conditioning = {"X": np.array([0, 1] * 20)}
    for name, column in model.sample(conditioning, 40, seed=5).items():
        np.testing.assert_array_equal(column, loaded.sample(conditioning, 40, seed=5)[name])


def test_unet_save_load_round_trip_with_guidance_samples_identically(tmp_path: Path) -> None:
    table = {**coloured_squares(64, 8, seed=0), "C": np.linspace(0.0, 1.0, 64)}
    options = {
        "steps": 3,
        "block_out_channels": (16, 32),
        "cfg_dropout": 0.2,
        "guidance_scale": 2.0,
        "sampler_steps": 4,
    }
    model = UNetDiffusion(["I"], ["X", "C"], infer_types(table), progress=False, **options)
    model.fit(table, seed=0)
    model.save(tmp_path / "factor")
    loaded = load_factor(tmp_path / "factor")
    conditioning = {"X": np.array([0, 1, 2]), "C": np.array([0.0, 0.5, 1.0])}
    np.testing.assert_array_equal(
        model.sample(conditioning, 3, seed=5)["I"], loaded.sample(conditioning, 3, seed=5)["I"]
    )
