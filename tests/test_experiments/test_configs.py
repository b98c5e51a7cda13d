"""Every config composes (without running), for every experiment and profile."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import idgen

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
EXPERIMENTS = sorted(p.stem for p in (CONFIGS / "experiment").glob("*.yaml"))
PROFILES = sorted(p.stem for p in (CONFIGS / "profile").glob("*.yaml"))
SAMPLERS = sorted(p.stem for p in (CONFIGS / "sampler").glob("*.yaml"))


def _compose(*overrides: str):  # type: ignore[no-untyped-def]
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides), return_hydra_config=True)


def test_every_experiment_is_listed() -> None:
    assert set(EXPERIMENTS) >= {"napkin_mnist", "frontdoor_discrete", "frontdoor_continuous", "celeba"}


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_and_resolves(experiment: str, profile: str) -> None:
    cfg = _compose(f"experiment={experiment}", f"profile={profile}")
    resolved = OmegaConf.to_container(cfg, resolve=False)
    assert isinstance(resolved, dict)
    assert cfg.name == experiment and cfg.profile.name == profile
    assert cfg.artifacts == f"runs/{experiment}-{profile}"
    graph = idgen.ADMG.from_dict(OmegaConf.to_container(cfg.graph, resolve=True))  # type: ignore[arg-type]
    idgen.identify(graph, cfg.query.text)  # every experiment's query is identifiable in its graph
    OmegaConf.to_container(cfg.data, resolve=True)
    OmegaConf.to_container(cfg.backend, resolve=True)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_samplers_compose(sampler: str) -> None:
    cfg = _compose(f"sampler={sampler}")
    assert cfg.backend.common.sampler == cfg.sampler.name and cfg.sampler.steps > 0


def test_tabular_backend_composes() -> None:
    cfg = _compose("backend=tabular", "experiment=frontdoor_discrete")
    assert cfg.backend.name == "tabular" and not cfg.backend.common


def test_spaced_names_and_data_types_come_through_hydra_overrides() -> None:
    from idgen.data import parse_types

    graph = '{directed: [["Side-quest Engagement", "In-game Purchases"]]}'
    query = "'P(`In-game Purchases` | do(`Side-quest Engagement`))'"
    cfg = _compose(f"graph={graph}", f"query.text={query}", "+data.types={Side-quest Engagement: discrete}")
    graph_spec = OmegaConf.to_container(cfg.graph, resolve=True)
    trace = idgen.identify(idgen.ADMG.from_dict(graph_spec), cfg.query.text)  # type: ignore[arg-type]
    assert trace.query.treatments == ("Side-quest Engagement",)
    assert parse_types(cfg.data.types) == {"Side-quest Engagement": "discrete"}
