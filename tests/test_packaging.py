"""The deployment files agree with each other and with what CI runs (Docker itself is not
available here, so these read the files rather than build the image)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def read(name: str) -> str:
    return (REPO / name).read_text(encoding="utf-8")


def install_calls(text: str) -> list[str]:
    """The arguments of every scripts/install.sh call outside comments."""
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    return [c for c in re.findall(r"scripts/install\.sh([^\n\\&]*)", code) if c.strip()]  # not prerequisites


def test_image_and_ci_install_through_the_same_script() -> None:
    assert read(".ci/run").strip().endswith("make test")
    makefile = read("Makefile")
    assert re.search(r"^test: setup$", makefile, re.M) and re.search(r"^run: setup-serve$", makefile, re.M)
    assert [c.split() for c in install_calls(makefile)] == [["--editable", "$(VENV)", "train,dev"],
                                                            ["--editable", "$(VENV)"]]
    docker = install_calls(read("Dockerfile"))
    assert [c.split() for c in docker] == [["/opt/cardsight"]]  # the slim set: no extras, no torch


def test_image_runs_as_a_user_and_checks_health() -> None:
    docker = read("Dockerfile")
    users = re.findall(r"^USER (\S+)", docker, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*127\.0\.0\.1:8080/health", docker, re.M)
    assert 'CMD ["cardsight", "serve"]' in docker


def test_compose_puts_engine_replicas_behind_a_balancer() -> None:
    compose = read("compose.yaml")
    nginx = read("deploy/nginx-engines.conf")
    assert '"serve", "--no-bots"' in compose and "replicas:" in compose
    front = re.search(r'"--engine-url", "http://(\w+):(\d+)"', compose)
    assert front and f"  {front.group(1)}:\n" in compose
    assert f"listen {front.group(2)};" in nginx and "server engine:8080;" in nginx
    assert "./deploy/nginx-engines.conf" in compose


def test_systemd_unit_uses_the_installed_venv_and_reloads_with_hup() -> None:
    unit = read("deploy/cardsight.service")
    assert "ExecStart=/opt/cardsight/bin/cardsight serve" in unit
    assert "ExecReload=/bin/kill -HUP $MAINPID" in unit
    assert re.search(r"^User=cardsight$", unit, re.M)
    assert "/etc/cardsight/cardsight.toml" in unit
