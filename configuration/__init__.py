"""The one place configuration comes from, outside every component.

Every component describes its settings as a frozen dataclass and takes them as arguments;
the command layer (cardsight/commands) builds them with `load_section` and the sections'
`load_*` helpers before anything starts, and hands them in. Values come, in rising
priority, from the dataclass defaults, the `[section]` table of the config file
(``cardsight.toml`` in the working directory, or the path in ``CARDSIGHT_CONFIG``), and
environment variables named ``CARDSIGHT_<SECTION>_<FIELD>``. Secrets (bot tokens, API keys)
are never read from the config file: the command layer reads them with `read_secret`, from
an environment variable or a file named by ``<NAME>_FILE`` (Docker/systemd secrets style).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Mapping, TypeVar

T = TypeVar("T")

CONFIG_ENV = "CARDSIGHT_CONFIG"
DEFAULT_CONFIG_FILE = Path("cardsight.toml")


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the key and the fix."""


def config_path(env: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if env is None else env
    if env.get(CONFIG_ENV):
        path = Path(env[CONFIG_ENV])
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV}={path} does not name a readable file")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def read_config_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def _coerce(value: Any, hint: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null")):
            return None
        return _coerce(value, args[0], key)
    if origin in (tuple, list):
        (item,) = typing.get_args(hint)[:1] or (str,)
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        items = [_coerce(v, item, key) for v in value]
        return tuple(items) if origin is tuple else items
    if hint is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{key}: expected true/false, got {value!r}")
    if hint in (int, float):
        # bool is an int to Python, and int(2.5) is 2: both would pass a typo silently.
        if isinstance(value, bool) or (hint is int and isinstance(value, float) and not value.is_integer()):
            raise ConfigError(f"{key}: expected {hint.__name__}, got {value!r}")
        try:
            return hint(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected {hint.__name__}, got {value!r}") from None
    if hint is Path:
        return Path(str(value)).expanduser()
    if hint is str:
        return str(value)
    return value


def load_section(
    section: str,
    cls: type[T],
    *,
    env: Mapping[str, str] | None = None,
    file_values: Mapping[str, Any] | None = None,
    **overrides: Any,
) -> T:
    """Build `cls` for `[section]`: defaults < config file < env vars < explicit overrides."""
    env = os.environ if env is None else env
    if file_values is None:
        file_values = read_config_file(config_path(env)).get(section, {})
    if not isinstance(file_values, Mapping):
        raise ConfigError(f"[{section}] must be a table of settings, got {file_values!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(file_values) - names
    if unknown:
        raise ConfigError(f"[{section}] has unknown keys: {', '.join(sorted(unknown))}")
    unknown = set(overrides) - names
    if unknown:
        raise ConfigError(f"{cls.__name__} has no settings named {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for name in names:
        key = f"CARDSIGHT_{section.upper()}_{name.upper()}"
        if name in overrides and overrides[name] is not None:
            raw, where = overrides[name], name
        elif key in env:
            raw, where = env[key], key
        elif name in file_values:
            raw, where = file_values[name], f"[{section}].{name}"
        else:
            continue
        values[name] = _coerce(raw, hints[name], where)
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[{section}]: {exc}") from exc


def read_secret(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """A secret from ``$NAME`` or the file named by ``$NAME_FILE``; None when neither is set."""
    env = os.environ if env is None else env
    value = env.get(name, "").strip()
    if value:
        return value
    file_name = env.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise ConfigError(f"{name}_FILE={file_name}: cannot read ({exc.strerror})") from None
    return None
