"""`[service]` settings: defaults, precedence, secrets and start-up validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from configuration import ConfigError
from service.settings import ServiceSettings, load_service_config


def test_defaults_listen_on_loopback_8080_without_auth() -> None:
    config = load_service_config(env={}, file_values={})
    assert (config.settings.host, config.settings.port) == ("127.0.0.1", 8080)
    assert config.api_token is None and config.settings.engine_url is None


def test_env_overrides_file_and_secrets_come_from_files(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    env = {
        "CARDSIGHT_SERVICE_PORT": "9090",
        "CARDSIGHT_SERVICE_ENGINE_URL": "http://engines:8080",
        "CARDSIGHT_API_TOKEN_FILE": str(token_file),
        "CARDSIGHT_ENGINE_TOKEN": "engine-secret",
    }
    config = load_service_config(env=env, file_values={"port": 7070, "host": "0.0.0.0"})
    assert (config.settings.host, config.settings.port) == ("0.0.0.0", 9090)
    assert config.settings.engine_url == "http://engines:8080"
    assert (config.api_token, config.engine_token) == ("from-file", "engine-secret")


@pytest.mark.parametrize(
    "values, message",
    [
        ({"port": "80a"}, "CARDSIGHT_SERVICE_PORT: expected int"),
        ({"port": "70000"}, "port must be between"),
        ({"max_body_bytes": "10"}, "max_body_bytes must be at least"),
        ({"engine_url": "engines:8080"}, "engine_url must be an http(s) URL"),
        ({"host": " "}, "host must not be empty"),
    ],
)
def test_bad_values_stop_start_up_with_a_message_naming_the_key(
    values: dict[str, str], message: str
) -> None:
    env = {f"CARDSIGHT_SERVICE_{k.upper()}": v for k, v in values.items()}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_service_config(env=env, file_values={})


def test_unknown_file_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="unknown keys: prot"):
        load_service_config(env={}, file_values={"prot": 80})


def test_settings_object_is_frozen() -> None:
    with pytest.raises(AttributeError):
        ServiceSettings().port = 1  # type: ignore[misc]
