"""`load_section` precedence and coercion, `read_secret`, and the training run config."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from configuration import ConfigError, config_path, load_section, read_config_file, read_secret
from engine.settings import EngineSettings
from training.config import RunConfig, from_dict, load_run_config


@dataclass(frozen=True)
class Sample:
    name: str = "default"
    count: int = 1
    ratio: float = 0.5
    enabled: bool = False
    folder: Path = Path("var")
    sizes: tuple[int, ...] = (1, 2)
    label: str | None = None

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ValueError("count must not be negative")


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cardsight.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_precedence_defaults_file_env_overrides(tmp_path: Path) -> None:
    path = write_toml(tmp_path, '[sample]\nname = "file"\ncount = 5\nratio = 0.25\n')
    env = {"CARDSIGHT_CONFIG": str(path), "CARDSIGHT_SAMPLE_COUNT": "7", "CARDSIGHT_SAMPLE_RATIO": "0.75"}
    s = load_section("sample", Sample, env=env, ratio=0.9, label=None)
    assert s.name == "file"  # file over default
    assert s.count == 7  # env over file
    assert s.ratio == 0.9  # override over env
    assert s.label is None and s.enabled is False  # defaults; a None override leaves the value alone
    assert load_section("sample", Sample, env={}) == Sample()


def test_default_file_in_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_toml(tmp_path, "[sample]\ncount = 3\n")
    monkeypatch.chdir(tmp_path)
    assert config_path({}) == Path("cardsight.toml")
    assert load_section("sample", Sample, env={}).count == 3
    with pytest.raises(ConfigError, match="CARDSIGHT_CONFIG=.*nowhere.toml"):
        load_section("sample", Sample, env={"CARDSIGHT_CONFIG": str(tmp_path / "nowhere.toml")})


def test_coercion_from_env_strings() -> None:
    env = {
        "CARDSIGHT_SAMPLE_NAME": "bolt",
        "CARDSIGHT_SAMPLE_COUNT": " 12 ",
        "CARDSIGHT_SAMPLE_RATIO": "1e-3",
        "CARDSIGHT_SAMPLE_ENABLED": "yes",
        "CARDSIGHT_SAMPLE_FOLDER": "~/cards",
        "CARDSIGHT_SAMPLE_SIZES": "3, 4,5",
        "CARDSIGHT_SAMPLE_LABEL": "tag",
    }
    s = load_section("sample", Sample, env=env)
    assert s == Sample(name="bolt", count=12, ratio=0.001, enabled=True,
                       folder=Path("~/cards").expanduser(), sizes=(3, 4, 5), label="tag")
    for text, value in (("off", False), ("0", False), ("TRUE", True), ("on", True)):
        assert load_section("sample", Sample, env={"CARDSIGHT_SAMPLE_ENABLED": text}).enabled is value
    assert load_section("sample", Sample, env={"CARDSIGHT_SAMPLE_LABEL": "none"}).label is None


def test_coercion_from_toml_values() -> None:
    s = load_section("sample", Sample, env={}, file_values={"sizes": [7, 8], "folder": "data", "ratio": 2})
    assert s.sizes == (7, 8) and isinstance(s.sizes, tuple)
    assert s.folder == Path("data") and s.ratio == 2.0 and isinstance(s.ratio, float)


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"CARDSIGHT_SAMPLE_COUNT": "many"}, "CARDSIGHT_SAMPLE_COUNT"),
        ({"CARDSIGHT_SAMPLE_COUNT": "2.5"}, "CARDSIGHT_SAMPLE_COUNT"),
        ({"CARDSIGHT_SAMPLE_RATIO": "half"}, "CARDSIGHT_SAMPLE_RATIO"),
        ({"CARDSIGHT_SAMPLE_ENABLED": "maybe"}, "CARDSIGHT_SAMPLE_ENABLED"),
        ({"CARDSIGHT_SAMPLE_SIZES": "1,x"}, "CARDSIGHT_SAMPLE_SIZES"),
    ],
)
def test_bad_env_values_name_the_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_section("sample", Sample, env=env)


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"count": 2.5}, r"\[sample\]\.count"),  # a fraction must not be truncated to 2
        ({"count": True}, r"\[sample\]\.count"),
        ({"count": "3"}, None),
        ({"enabled": "sometimes"}, r"\[sample\]\.enabled"),
        ({"sizes": 5}, r"\[sample\]\.sizes"),
        ({"nmae": "typo"}, "nmae"),
        ({"count": -1}, "count must not be negative"),
    ],
)
def test_bad_file_values_name_the_key(values: dict, key: str | None) -> None:
    if key is None:  # TOML strings holding numbers are accepted like env strings
        assert load_section("sample", Sample, env={}, file_values=values).count == 3
        return
    with pytest.raises(ConfigError, match=key):
        load_section("sample", Sample, env={}, file_values=values)


def test_section_that_is_not_a_table(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "sample = 3\n")
    with pytest.raises(ConfigError, match=r"\[sample\]"):
        load_section("sample", Sample, env={"CARDSIGHT_CONFIG": str(path)})


def test_unknown_override_is_refused() -> None:
    with pytest.raises(ConfigError, match="cuont"):
        load_section("sample", Sample, env={}, cuont=3)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "[sample\ncount = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_config_file(path)


def test_engine_settings_validation_surfaces_as_config_error() -> None:
    with pytest.raises(ConfigError, match="max_queue must be at least 1"):
        load_section("engine", EngineSettings, env={"CARDSIGHT_ENGINE_MAX_QUEUE": "0"})
    with pytest.raises(ConfigError, match="timeout_s"):
        load_section("engine", EngineSettings, env={"CARDSIGHT_ENGINE_TIMEOUT_S": "0"})
    with pytest.raises(ConfigError, match="search_k"):
        load_section("engine", EngineSettings, env={"CARDSIGHT_ENGINE_SEARCH_K": "0"})
    s = load_section("engine", EngineSettings, env={"CARDSIGHT_ENGINE_ARTIFACTS": "/srv/a"})
    assert s.artifacts == Path("/srv/a") and s.max_queue == EngineSettings().max_queue


def test_read_secret_from_env_and_file(tmp_path: Path) -> None:
    assert read_secret("CARDSIGHT_TEST_TOKEN", {"CARDSIGHT_TEST_TOKEN": " abc \n"}) == "abc"
    secret = tmp_path / "token"
    secret.write_text("from-file\n", encoding="utf-8")
    env = {"CARDSIGHT_TEST_TOKEN_FILE": str(secret)}
    assert read_secret("CARDSIGHT_TEST_TOKEN", env) == "from-file"
    # The variable wins over the file; a blank variable counts as unset.
    assert read_secret("CARDSIGHT_TEST_TOKEN", {**env, "CARDSIGHT_TEST_TOKEN": "direct"}) == "direct"
    assert read_secret("CARDSIGHT_TEST_TOKEN", {**env, "CARDSIGHT_TEST_TOKEN": "  "}) == "from-file"
    assert read_secret("CARDSIGHT_TEST_TOKEN", {}) is None
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    assert read_secret("CARDSIGHT_TEST_TOKEN", {"CARDSIGHT_TEST_TOKEN_FILE": str(empty)}) is None


def test_read_secret_unreadable_file_names_the_variable_not_the_secret(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(ConfigError, match="CARDSIGHT_TEST_TOKEN_FILE") as info:
        read_secret("CARDSIGHT_TEST_TOKEN", {"CARDSIGHT_TEST_TOKEN_FILE": str(missing)})
    assert "No such file" in str(info.value)


def test_read_secret_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARDSIGHT_TEST_TOKEN", "from-os")
    assert read_secret("CARDSIGHT_TEST_TOKEN") == os.environ["CARDSIGHT_TEST_TOKEN"]


# ---- training run config -------------------------------------------------------------


def test_run_config_round_trips_through_toml(tmp_path: Path) -> None:
    cfg = from_dict({"model": {"input_width": 64, "input_height": 96},
                     "train": {"steps": 5}, "calibration": {"photo_size": [640, 480]}})
    assert cfg.calibration.photo_size == (640, 480)
    cfg.save(tmp_path / "config.toml")
    assert load_run_config(tmp_path / "config.toml") == cfg
    assert load_run_config(None) == RunConfig()


def test_shipped_default_toml_loads() -> None:
    cfg = load_run_config(Path(__file__).parents[2] / "training" / "default.toml")
    assert cfg.train.steps == 1000 and cfg.calibration.photo_size == (1600, 1200)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[modle]\nembedding_dim = 3\n", "modle"),
        ("[train]\nstpes = 3\n", "stpes"),
        ("[train]\nsteps = \"many\"\n", "steps"),
        ("[train\nsteps = 3\n", "not valid TOML"),
        ("[index]\nlayout_weight = -1.0\n", "layout_weight"),
        ("[index]\nshortlist = 0\n", "shortlist"),
    ],
)
def test_bad_run_config_is_a_config_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "run.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_run_config(path)


def test_components_take_settings_and_never_import_the_command_layer() -> None:
    # bot/, service/, training/ and engine/ get settings handed in; only cardsight/ (the
    # commands) decides where they come from. `cardsight.__version__` is the one exception.
    root = Path(__file__).resolve().parents[2]
    importers = [
        path.relative_to(root).as_posix()
        for folder in ("engine", "bot", "service", "training")
        for path in (root / folder).rglob("*.py")
        if re.search(r"^\s*(from cardsight\S* import (?!__version__$)|import cardsight)",
                     path.read_text(encoding="utf-8"), re.M)
    ]
    assert importers == []
