"""The sample cardsight.toml lists every key with its default, and cannot drift from the code."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path

import pytest

from configuration import load_section
from cardsight.sample_config import SECTIONS, render

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "cardsight.example.toml"


def test_committed_sample_is_the_generated_one() -> None:
    assert SAMPLE.read_text(encoding="utf-8") == render(), (
        "regenerate: python -m cardsight.sample_config > deploy/cardsight.example.toml")


def listed_keys(text: str) -> dict[str, set[str]]:
    """Keys per section, set or shown commented out (`# key =`, for defaults of None)."""
    keys: dict[str, set[str]] = {}
    section = ""
    for line in text.splitlines():
        if header := re.fullmatch(r"\[(\w+)\]", line):
            section = header.group(1)
            keys[section] = set()
        elif key := re.fullmatch(r"#? ?(\w+) =.*", line):
            if section:
                keys[section].add(key.group(1))
    return keys


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_every_key_is_listed_once(section: str) -> None:
    fields = [f.name for f in dataclasses.fields(SECTIONS[section])]
    assert listed_keys(SAMPLE.read_text(encoding="utf-8"))[section] == set(fields)


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_listed_values_are_the_defaults(section: str) -> None:
    values = tomllib.loads(SAMPLE.read_text(encoding="utf-8"))[section]
    cls = SECTIONS[section]
    assert load_section(section, cls, env={}, file_values=values) == cls()


def test_every_section_the_program_reads_is_in_the_sample() -> None:
    """`load_section("name", ...)` calls outside training's own run config name a section here."""
    root = SAMPLE.parents[1]
    read = set()
    for folder in ("engine", "service", "bot", "cardsight"):
        for path in (root / folder).rglob("*.py"):
            read |= set(re.findall(r"load_section\(\s*\"(\w+)\"", path.read_text(encoding="utf-8")))
    assert read and read <= set(SECTIONS) | {"sync"}, read
