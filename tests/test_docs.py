"""The README stays short enough to be read, and no link in it or in docs/ points nowhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "bench" / "results" / "HISTORY.md"]


def test_readme_is_short() -> None:
    assert len((REPO / "README.md").read_text(encoding="utf-8").splitlines()) <= 250


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    links = [t for t in re.findall(r"\]\(([^)\s]+)\)", text) if not re.match(r"[a-z]+:", t)]
    missing = [t for t in links if not (page.parent / t.split("#")[0]).exists()]
    assert not missing, missing


def test_every_error_code_the_api_sends_is_in_the_readme_table() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    sources = "\n".join(p.read_text(encoding="utf-8") for folder in ("service", "engine")
                        for p in (REPO / folder).glob("*.py"))
    codes = set(re.findall(r'code = "(\w+)"', sources)) | set(re.findall(r'ApiError\(\s*\d+,\s*"(\w+)"', sources))
    codes |= set(re.findall(r'error_response\(\s*\d+,\s*"(\w+)"', sources))
    assert {"bad_image", "too_large", "busy", "timeout", "not_ready", "error", "internal"} <= codes
    table = set(re.findall(r"^\| [\d a-z.]+ \| `(\w+)`", readme, re.M))
    assert codes <= table, codes - table
