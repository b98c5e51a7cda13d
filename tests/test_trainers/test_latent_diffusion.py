"""The ``latent-diffusion`` backend and the image-domain autoencoder: copying through latents, persistence,
resume, and one autoencoder trained once for every factor, query and baseline that shares it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from diffusion_tasks import COLOURS, colour_read_out, coloured_squares

import idgen
from idgen.data import infer_types
from idgen.errors import IdgenError
from trainers.autoencoder import fit_autoencoder, load_autoencoder, save_autoencoder
from trainers.base import load_factor
from trainers.latent_diffusion import LatentDiffusion

AUTOENCODER = {"steps": 250, "channels": [16, 32], "latent_channels": 2, "batch_size": 64, "progress": False}
FACTOR = {"steps": 500, "batch_size": 128, "width": 128, "depth": 2, "lr": 2e-3, "progress": False}


def parent_and_child(rows: int, seed: int) -> dict[str, np.ndarray]:
    """``A`` and ``C``: two coloured squares at independent places, ``C`` in ``A``'s colour."""
    first = coloured_squares(rows, 8, seed)
    second = coloured_squares(rows, 8, seed + 1)
    images = np.zeros_like(second["I"])
    for row, colour in enumerate(first["X"]):
        images[row, colour] = second["I"][row].max(axis=0)  # same square, moved to the parent's colour
    return {"A": first["I"], "C": images, "colour": first["X"]}


@pytest.fixture(scope="module")
def copied(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A network P(C | do(A)) fitted through the latents of one shared autoencoder."""
    table = parent_and_child(1500, seed=0)
    workdir = tmp_path_factory.mktemp("latent")
    plan = idgen.compile(idgen.ADMG(directed=[("A", "C")]), "P(C | do(A))", image_domains={"squares": ["A", "C"]})
    network = idgen.fit(
        plan,
        {"A": table["A"], "C": table["C"]},
        workdir=workdir,
        options_by_backend={"autoencoder": AUTOENCODER, "latent-diffusion": FACTOR},
    )
    return {"network": network, "plan": plan, "workdir": workdir, "table": table}


def test_auto_picks_the_latent_backend_for_a_domain_image(copied: dict[str, Any]) -> None:
    log = json.loads((copied["workdir"] / "fit_log.json").read_text())
    assert [entry["backend"] for entry in log["tasks"]] == ["autoencoder", "latent-diffusion"]


def test_a_coloured_square_copies_its_image_parent_through_latents(copied: dict[str, Any]) -> None:
    probes = coloured_squares(len(COLOURS), 8, seed=5)
    for colour in range(len(COLOURS)):
        parent = probes["I"][list(probes["X"]).index(colour)] if colour in probes["X"] else None
        if parent is None:
            parent = np.zeros((3, 8, 8), np.float32)
            parent[colour, 2:6, 2:6] = 1.0
        drawn = copied["network"].sample(60, do={"A": parent}, seed=colour)["C"].numpy()
        assert drawn.shape == (60, 3, 8, 8)
        assert 0.0 <= drawn.min() and drawn.max() <= 1.0
        assert np.mean(colour_read_out(drawn) == colour) >= 0.8


def test_saved_network_samples_the_same(copied: dict[str, Any], tmp_path: Path) -> None:
    network = copied["network"]
    parent = copied["table"]["A"][0]
    network.save(tmp_path / "network")
    loaded = idgen.SamplingNetwork.load(tmp_path / "network")
    first = network.sample(16, do={"A": parent}, seed=3)["C"].numpy()
    again = loaded.sample(16, do={"A": parent}, seed=3)["C"].numpy()
    np.testing.assert_array_equal(first, again)


def test_a_factor_with_tampered_autoencoder_weights_is_refused(copied: dict[str, Any], tmp_path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    factor = next(iter(copied["network"].factors.values()))
    factor.save(tmp_path / "factor")
    arrays = load_file(str(tmp_path / "factor" / "state.safetensors"))
    name = next(k for k in arrays if k.startswith("autoencoder.") and k.endswith("weight"))
    arrays[name] = arrays[name] + np.float32(1e-3)
    save_file(arrays, str(tmp_path / "factor" / "state.safetensors"))
    with pytest.raises(IdgenError, match="checksums.json"):  # the folder's checksums catch it first
        load_factor(tmp_path / "factor")
    (tmp_path / "factor" / "checksums.json").unlink()  # without them, the factor's own check of its weights
    with pytest.raises(IdgenError, match="SHA-256"):
        load_factor(tmp_path / "factor")


def test_refit_reuses_every_artifact(copied: dict[str, Any]) -> None:
    table = copied["table"]
    idgen.fit(
        copied["plan"],
        {"A": table["A"], "C": table["C"]},
        workdir=copied["workdir"],
        options_by_backend={"autoencoder": AUTOENCODER, "latent-diffusion": FACTOR},
    )
    log = json.loads((copied["workdir"] / "fit_log.json").read_text())
    assert all(entry.get("resumed") for entry in log["tasks"])


def test_one_autoencoder_for_two_factors_two_queries_and_a_baseline(tmp_path: Path) -> None:
    """A → B → C (images A, C; B discrete): the factors of A and C share one autoencoder, trained once for
    both queries, and a baseline compiled on a smaller graph with the same domain reuses it."""
    rows = 400
    first = coloured_squares(rows, 8, seed=1)
    second = coloured_squares(rows, 8, seed=2)
    table = {"A": first["I"], "B": first["X"], "C": second["I"]}
    graph = idgen.ADMG(directed=[("A", "B"), ("B", "C")])
    domains = {"squares": ["A", "C"]}
    plan = idgen.compile_many(graph, ["P(C | do(B))", "P(A, C)"], image_domains=domains)
    autoencoders = [task for task in plan.tasks if task.kind == "autoencoder"]
    assert len(autoencoders) == 1
    small = {"steps": 3, "channels": [8, 8], "latent_channels": 2, "progress": False}
    tiny = {"steps": 3, "width": 16, "depth": 1, "progress": False}
    options = {"autoencoder": small, "latent-diffusion": tiny}
    # B (discrete, given image A) goes to mlp-diffusion: the plain options keep every diffusion model tiny
    networks = idgen.fit(plan, table, workdir=tmp_path / "main", options_by_backend=options, **tiny)
    assert set(networks) == {"P(C | do(B))", "P(A, C)"}
    log = json.loads((tmp_path / "main" / "fit_log.json").read_text())
    trained = [entry for entry in log["tasks"] if entry["backend"] == "autoencoder"]
    assert len(trained) == 1 and not trained[0].get("resumed")
    latent = [entry for entry in log["tasks"] if entry["backend"] == "latent-diffusion"]
    assert len(latent) == 2
    baseline = idgen.compile(idgen.ADMG(directed=[("B", "C")]), "P(C | do(B))", image_domains=domains)
    assert baseline.tasks[0].id == autoencoders[0].id
    idgen.fit(
        baseline, table, workdir=tmp_path / "baseline", store=tmp_path / "main", options_by_backend=options, **tiny
    )
    log = json.loads((tmp_path / "baseline" / "fit_log.json").read_text())
    assert [entry.get("resumed", False) for entry in log["tasks"] if entry["backend"] == "autoencoder"] == [True]
    assert len(list((tmp_path / "main" / "tasks").glob(f"{autoencoders[0].id}-*[!k]"))) == 1


def test_latent_backend_without_a_domain_gets_one_per_image_shape(tmp_path: Path) -> None:
    table = coloured_squares(200, 8, seed=3)
    plan = idgen.compile(idgen.ADMG(directed=[("X", "I")]), "P(I | do(X))")
    network = idgen.fit(
        plan,
        table,
        backend="latent-diffusion",
        workdir=tmp_path,
        options_by_backend={
            "autoencoder": {"steps": 2, "channels": [8, 8], "progress": False},
            "latent-diffusion": {"steps": 2, "width": 16, "depth": 1},
        },
        backends={"I": "latent-diffusion"},
    )
    saved = json.loads((tmp_path / "plan.json").read_text())
    assert [task["kind"] for task in saved["tasks"]] == ["autoencoder", "factor"]
    assert saved["tasks"][0]["note"] == "image domain 'images_3x8x8'"
    assert network.sample(2, do={"X": 1}, seed=0)["I"].shape == (2, 3, 8, 8)


def test_latent_factor_without_its_autoencoder_is_a_clear_error() -> None:
    table = coloured_squares(10, 8, seed=0)
    factor = LatentDiffusion(["I"], ["X"], infer_types(table), steps=2)
    with pytest.raises(IdgenError, match="no autoencoder for 'I'"):
        factor.fit(table, seed=0)


def test_latent_unet_denoiser_fits_and_samples() -> None:
    table = parent_and_child(64, seed=4)
    types = infer_types({"A": table["A"], "C": table["C"]})
    autoencoder, _ = fit_autoencoder({"A": table["A"], "C": table["C"]}, {**AUTOENCODER, "steps": 2}, seed=0)
    factor = LatentDiffusion(
        ["C"],
        ["A"],
        types,
        denoiser="unet",
        block_out_channels=[16, 16],
        steps=2,
        cfg_dropout=0.1,
        guidance_scale=2.0,
        progress=False,
    )
    factor.attach_autoencoders({"A": ("ae", autoencoder), "C": ("ae", autoencoder)})
    factor.fit({"A": table["A"], "C": table["C"]}, seed=0)
    assert factor.sample({"A": table["A"][:3]}, 3, seed=0)["C"].shape == (3, 3, 8, 8)


def test_autoencoder_round_trip_and_tamper_refusal(tmp_path: Path) -> None:
    images = coloured_squares(32, 8, seed=0)["I"]
    model, log = fit_autoencoder({"I": images}, {**AUTOENCODER, "steps": 2}, seed=0)
    assert log["latent_shape"] == [2, 4, 4]
    save_autoencoder(model, tmp_path / "ae", log)
    loaded, report = load_autoencoder(tmp_path / "ae")
    np.testing.assert_array_equal(
        loaded.decode_latents(loaded.encode_images(images)), model.decode_latents(model.encode_images(images))
    )
    header = json.loads((tmp_path / "ae" / "autoencoder.json").read_text())
    header["weights_sha256"] = "0" * 64
    (tmp_path / "ae" / "autoencoder.json").write_text(json.dumps(header))
    with pytest.raises(IdgenError, match="SHA-256"):
        load_autoencoder(tmp_path / "ae")


def test_autoencoder_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    images = {"I": coloured_squares(64, 8, seed=0)["I"]}
    options = {**AUTOENCODER, "steps": 6, "checkpoint_every": 3}
    straight, _ = fit_autoencoder(images, options, seed=0)
    fit_autoencoder(images, {**options, "steps": 3}, seed=0, workdir=tmp_path / "short")  # a first, shorter run
    with pytest.raises(IdgenError):  # another configuration's checkpoint is never resumed
        fit_autoencoder(images, options, seed=0, workdir=tmp_path / "short")
    _, first = fit_autoencoder(images, options, seed=0, workdir=tmp_path / "work")
    checkpoints = sorted((tmp_path / "work" / "checkpoints").glob("step-*"))
    assert [p.name for p in checkpoints] == ["step-00000003", "step-00000006"]
    import shutil

    shutil.rmtree(checkpoints[-1])  # as if killed between steps 3 and 6
    resumed, second = fit_autoencoder(images, options, seed=0, workdir=tmp_path / "work")
    assert second["start_step"] == 3
    for name, value in straight.state_dict().items():
        np.testing.assert_allclose(resumed.state_dict()[name].numpy(), value.numpy(), atol=1e-6)


def test_bad_autoencoder_options_are_refused_before_training(tmp_path: Path) -> None:
    table = coloured_squares(20, 8, seed=0)
    plan = idgen.compile(idgen.ADMG(directed=[("X", "I")]), "P(I | do(X))", image_domains={"d": ["I"]})
    with pytest.raises(IdgenError, match="autoencoder has no option"):
        idgen.fit(plan, table, workdir=tmp_path, options_by_backend={"autoencoder": {"nonsense": 1}})
    with pytest.raises(IdgenError, match="divisible by 16"):  # 8x8 images, five levels
        idgen.fit(plan, table, workdir=tmp_path, options_by_backend={"autoencoder": {"channels": [4, 4, 4, 4, 4]}})
    assert not (tmp_path / "tasks").exists()  # refused before anything trained


@pytest.mark.slow
def test_long_form_copies_colour_and_position_free_shape(tmp_path: Path) -> None:
    """The long form: more rows and steps, 16×16 squares, guided sampling; the colour is copied ≥ 95 %."""
    first = coloured_squares(4000, 16, seed=0)
    second = coloured_squares(4000, 16, seed=1)
    child = np.zeros_like(second["I"])
    for row, colour in enumerate(first["X"]):
        child[row, colour] = second["I"][row].max(axis=0)
    plan = idgen.compile(idgen.ADMG(directed=[("A", "C")]), "P(C | do(A))", image_domains={"squares": ["A", "C"]})
    network = idgen.fit(
        plan,
        {"A": first["I"], "C": child},
        workdir=tmp_path,
        options_by_backend={
            "autoencoder": {**AUTOENCODER, "steps": 1500},
            "latent-diffusion": {**FACTOR, "steps": 3000, "width": 256, "cfg_dropout": 0.1, "guidance_scale": 2.0},
        },
    )
    for colour in range(len(COLOURS)):
        parent = np.zeros((3, 16, 16), np.float32)
        parent[colour, 4:12, 4:12] = 1.0
        drawn = network.sample(200, do={"A": parent}, seed=colour)["C"].numpy()
        assert np.mean(colour_read_out(drawn) == colour) >= 0.95
