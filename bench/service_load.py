"""Load benchmark of ``POST /identify``: throughput and latency percentiles at 1, 16 and 64
concurrent clients, driven from this process against a server in another process on loopback.

By default it starts ``cardsight serve --no-bots`` on a free port with the artifact set at
``--artifacts`` (``cardsight serve`` builds the demo set there when there is none) and stops it
afterwards; ``--url`` drives an already running server instead. Photos are the real ones in
``--photos`` when present, else generated table scenes; ``--simulated N`` sends N simulated
single-card 1600×1200 photos of the real scans instead (the issue-25 throughput case).
``--baseline DIR`` also starts a server from another checkout (a `git worktree` of the previous
commit, or this one with other ``--baseline-settings``) on the same artifacts and runs each level
against both in turn, so the shared machine's phases hit both alike. Each level runs for ``--duration`` seconds after a short warm-up. Run:

    .venv/bin/python -m bench.service_load [--artifacts var/artifacts] [--simulated 40] [--baseline ../prev]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.paths import PHOTOS, REPO, SHARED, shared_help



@dataclass
class LevelResult:
    server: str
    clients: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    stage_ms: dict[str, list[float]] = field(default_factory=dict)

    def percentile(self, q: int) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else float("nan")
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[q - 1]


def load_photos(folder: Path, limit: int) -> list[bytes]:
    if folder.is_dir():
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        if files:
            return [p.read_bytes() for p in files[:limit]]
    import numpy as np
    from PIL import Image

    from tests.scenes import random_scene

    rng = np.random.default_rng(0)
    photos = []
    for i in range(min(limit, 8)):
        scene = random_scene(rng, 1 + i % 3)
        buf = io.BytesIO()
        Image.fromarray(scene.image).save(buf, format="JPEG", quality=90)
        photos.append(buf.getvalue())
    return photos


def simulated_photos(gallery: Path, count: int, seed: int = 25) -> list[bytes]:
    """Single-card 1600×1200 simulated photos of the real scans, at the simulator's full hardness."""
    from training.evaluate import simulated_queries
    from training.gallery import read_gallery

    return [q.data for q in simulated_queries(read_gallery(gallery), count, seed=seed)]


async def wait_ready(session: aiohttp.ClientSession, url: str, timeout_s: float,
                     server: subprocess.Popen[bytes] | None) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            raise SystemExit(f"server exited with status {server.returncode} before it was ready")
        try:
            async with session.get(f"{url}/health") as resp:
                if resp.status == 200:
                    return await resp.json()
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.5)
    raise SystemExit(f"{url}/health not ready within {timeout_s:.0f}s")


async def run_level(session: aiohttp.ClientSession, server: str, url: str, photos: list[bytes], clients: int,
                    duration_s: float, warmup_s: float, headers: dict[str, str]) -> LevelResult:
    """`clients` closed-loop clients for warm-up + duration; only requests that finish inside
    the measured window count, so throughput is completions per measured second."""
    result = LevelResult(server, clients, duration_s)
    measure_from = time.perf_counter() + warmup_s
    stop_at = measure_from + duration_s

    async def client(index: int) -> None:
        n = index
        while (sent := time.perf_counter()) < stop_at:
            photo = photos[n % len(photos)]
            n += clients
            try:
                async with session.post(f"{url}/identify", data=photo, headers=headers) as resp:
                    status = resp.status
                    body = await resp.json(content_type=None)
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                status, body = 0, None  # 0: connection failed or garbled answer
            done = time.perf_counter()
            if not measure_from <= done <= stop_at:
                continue
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status == 200:
                result.latencies_ms.append((done - sent) * 1e3)
                for stage, ms in body["timings_ms"].items():
                    result.stage_ms.setdefault(stage, []).append(ms)

    await asyncio.gather(*(client(i) for i in range(clients)))
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(checkout: Path, artifacts: Path, port: int, log_path: Path,
                 engine_settings: dict[str, object] | None = None) -> subprocess.Popen[bytes]:
    """`cardsight serve` of the code in `checkout` (this repository, or a baseline's), with
    `engine_settings` as `CARDSIGHT_ENGINE_*` variables."""
    env = {**os.environ, "CARDSIGHT_SERVICE_ACCESS_LOG": "false", "PYTHONPATH": str(checkout),
           **{f"CARDSIGHT_ENGINE_{key.upper()}": str(value) for key, value in (engine_settings or {}).items()}}
    env.pop("CARDSIGHT_API_TOKEN", None)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "cardsight.cli", "serve", "--no-bots", "--port", str(port),
         "--artifacts", str(artifacts.resolve())],
        cwd=checkout, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
    )


def git_head(checkout: Path) -> str:
    found = subprocess.run(["git", "-C", str(checkout), "log", "-1", "--format=%h %s"],
                           capture_output=True, text=True)
    return found.stdout.strip()[:70] if found.returncode == 0 else "(not a git checkout)"


def print_report(info: dict, photos: int, results: list[LevelResult]) -> None:
    print(f"engine: model {info.get('model_version')}, index {info.get('index_version')}, "
          f"gallery {info.get('gallery_size')} printings; {photos} distinct photos; "
          f"{os.cpu_count()} CPUs shared by client and server")
    print(f"{'server':>8} {'clients':>7} {'requests':>8} {'ok/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  statuses")
    for r in results:
        ok = len(r.latencies_ms)
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(r.statuses.items()))
        print(f"{r.server:>8} {r.clients:>7} {sum(r.statuses.values()):>8} {ok / r.seconds:>7.2f} "
              f"{r.percentile(50):>8.0f} {r.percentile(95):>8.0f} {r.percentile(99):>8.0f}  {statuses}")
    for r in results:
        if r.stage_ms:
            stages = ", ".join(f"{k} {statistics.fmean(v):.0f}" for k, v in r.stage_ms.items())
            print(f"{r.server} engine time per answer at {r.clients} client(s), mean ms: {stages}")


async def main_async(args: argparse.Namespace) -> int:
    photos = simulated_photos(args.gallery, args.simulated) if args.simulated else load_photos(args.photos, args.max_photos)
    print(f"# cardsight service load benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, shared with other jobs; "
          f"{'simulated single-card 1600x1200 photos' if args.simulated else 'photos from ' + str(args.photos)}")
    servers: dict[str, str] = {}
    started: list[subprocess.Popen[bytes]] = []
    if args.url:
        servers["given"] = args.url.rstrip("/")
    else:
        checkouts = {"this": REPO, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
        for name, checkout in checkouts.items():
            port = free_port()
            servers[name] = f"http://127.0.0.1:{port}"
            print(f"# {name}: {git_head(checkout)}")
            artifacts = args.baseline_artifacts if name == "baseline" and args.baseline_artifacts else args.artifacts
            engine_settings = json.loads(args.baseline_settings if name == "baseline" else args.settings)
            print(f"# {name} serves {artifacts}" + (f" with engine settings {engine_settings}" if engine_settings else ""))
            started.append(start_server(checkout, artifacts, port,
                                        REPO / "bench" / "out" / f"service_load_{name}.log", engine_settings))
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    try:
        timeout = aiohttp.ClientTimeout(total=120)
        connector = aiohttp.TCPConnector(limit=max(args.clients) * len(servers))
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            infos = [await wait_ready(session, url, args.ready_timeout, server)
                     for url, server in zip(servers.values(), [*started, None, None])]
            results = []
            for level, clients in enumerate(args.clients):
                order = list(servers.items())[:: 1 if level % 2 == 0 else -1]  # who goes first alternates
                for name, url in order:
                    results.append(await run_level(session, name, url, photos, clients, args.duration,
                                                   args.warmup, headers))
                    print(f"  {name}: {clients} client(s) done", file=sys.stderr)
        results.sort(key=lambda r: (r.server != "this", r.clients))
        print_report(infos[0], len(photos), results)
    finally:
        for server in started:
            server.send_signal(signal.SIGTERM)
        for server in started:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="drive this running server instead of starting one")
    parser.add_argument("--artifacts", type=Path, default=REPO / "var" / "artifacts")
    parser.add_argument("--photos", type=Path, default=PHOTOS,
                        help=shared_help("real photos; generated scenes where absent", PHOTOS))
    parser.add_argument("--max-photos", type=int, default=32)
    parser.add_argument("--simulated", type=int, default=0,
                        help="send this many simulated single-card photos of --gallery instead of --photos")
    parser.add_argument("--gallery", type=Path, default=SHARED, help=shared_help("real scans for --simulated"))
    parser.add_argument("--baseline", type=Path,
                        help="another checkout (e.g. a git worktree of the previous commit) served beside this one")
    parser.add_argument("--baseline-artifacts", type=Path,
                        help="the baseline's own artifact set, where the change is in the set (int8 beside float32); "
                             "default: --artifacts")
    parser.add_argument("--settings", default="{}",
                        help='JSON of engine settings for this checkout\'s server, e.g. \'{"processes": 2}\'')
    parser.add_argument("--baseline-settings", default="{}", help="the same for the baseline's server")
    parser.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")], default=[1, 16, 64])
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per level")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds per level")
    parser.add_argument("--ready-timeout", type=float, default=900.0,
                        help="how long to wait for the server (a first demo build takes minutes)")
    parser.add_argument("--token", default=os.environ.get("CARDSIGHT_API_TOKEN"))
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
