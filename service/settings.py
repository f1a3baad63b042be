"""Settings of the HTTP service (config section ``[service]``), checked when the process starts.

Validation lives here rather than in the routes so that a typo in ``cardsight.toml`` or an env
var stops `cardsight serve` at once with a message naming the key, instead of surfacing as odd
behaviour under load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlparse

from configuration import load_section, read_secret

API_TOKEN_SECRET = "CARDSIGHT_API_TOKEN"
"""Bearer token this service demands on its API, when set (env var or ``*_FILE``)."""

ENGINE_TOKEN_SECRET = "CARDSIGHT_ENGINE_TOKEN"
"""Bearer token this process sends to a remote engine (that engine's CARDSIGHT_API_TOKEN);
defaults to this process's own API token, the usual case of one token per deployment."""


@dataclass(frozen=True)
class ServiceSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 15 * 1024 * 1024
    """Largest upload accepted by ``POST /identify``; bigger bodies get 413 before decoding."""
    engine_url: str | None = None
    """Base URL of another cardsight service whose ``/identify`` this process forwards to
    instead of loading a model itself (bots-only hosts in front of engine replicas)."""
    engine_timeout_s: float = 30.0
    """How long a call to the remote engine may take before it counts as a timeout."""
    drain_timeout_s: float = 60.0
    """After a hot reload, how long the old engine may keep finishing requests before it is
    closed anyway."""
    search_limit_max: int = 50
    access_log: bool = True
    """One log line per request (turn off when a proxy in front already logs them)."""

    def __post_init__(self) -> None:
        if not self.host.strip():
            raise ValueError("host must not be empty (use 0.0.0.0 to listen on all interfaces)")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {self.port}")
        if self.max_body_bytes < 1024:
            raise ValueError(f"max_body_bytes must be at least 1024, got {self.max_body_bytes}")
        if self.engine_timeout_s <= 0 or self.drain_timeout_s <= 0:
            raise ValueError("engine_timeout_s and drain_timeout_s must be positive")
        if self.search_limit_max < 1:
            raise ValueError(f"search_limit_max must be at least 1, got {self.search_limit_max}")
        if self.engine_url is not None:
            url = urlparse(self.engine_url)
            if url.scheme not in ("http", "https") or not url.netloc:
                raise ValueError(
                    f"engine_url must be an http(s) URL like http://engine:8080, got {self.engine_url!r}"
                )


@dataclass(frozen=True)
class ServiceConfig:
    """Settings plus the secrets that must never travel through the config file."""

    settings: ServiceSettings
    api_token: str | None
    engine_token: str | None


def load_service_config(
    env: Mapping[str, str] | None = None, **overrides: object
) -> ServiceConfig:
    """Read ``[service]`` and the API/engine tokens; raises `ConfigError` on bad values."""
    api_token = read_secret(API_TOKEN_SECRET, env)
    return ServiceConfig(
        settings=load_section("service", ServiceSettings, env=env, **overrides),
        api_token=api_token,
        engine_token=read_secret(ENGINE_TOKEN_SECRET, env) or api_token,
    )
