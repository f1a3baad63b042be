"""Soak and load: the bad-input corpus many times through the engine (RSS must stay flat), then
200 photos at once through the HTTP API and through each bot against its platform stand-in.

Phases (``--phases``, default all):

* ``soak``: every file of tests/data/bad, ``--rounds`` times, through `Recognizer.identify`;
  RSS is printed every ``--every`` rounds and the growth after the first round is the verdict
  (flat = no leak). A wrong answer for any file stops the run.
* ``service``: ``--concurrent`` photos posted at once to ``POST /identify`` (aiohttp app on
  loopback, in this process with the engine); then ``telegram`` and ``discord``: the same
  number of photos from as many users at once through the real bot libraries and the
  loopback stand-ins used by the tests. Each reports answered / refused (busy) / other, p50,
  p99 and max latency, and peak RSS. Refusals are the engine's bounded queue doing its job.

Photos are the real ones in ``--photos`` when present, else generated scenes. With no
``--artifacts`` a small generated artifact set (24 cards) is built in a temp folder. Run:

    .venv/bin/python -m bench.soak [--rounds 1000] [--phases soak,service,telegram,discord]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import platform
import resource
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.paths import PHOTOS, shared_help
from engine.runtime import configure

PHASES = ("soak", "service", "telegram", "discord")
REPLY_WAIT_S = 120.0
"""A bot request without a reply by then counts as "no_reply" (the user was left hanging)."""


def rss_mb() -> float:
    """Resident set size now (not the peak), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_small_artifacts(root: Path) -> Path:
    from training.cardgen import generate_gallery
    from training.config import CalibrationConfig, RunConfig
    from training.index_build import build_artifacts

    generate_gallery(root / "gallery", 24, seed=11, hard_negative_fraction=0.0)
    calibration = CalibrationConfig(photos=40, multi_card_photos=10, photo_size=(800, 600))
    cfg = dataclasses.replace(RunConfig(), calibration=calibration)
    build_artifacts(root / "gallery", root / "artifacts", cfg=cfg, progress=False)
    return root / "artifacts"


def load_photos(folder: Path, limit: int = 32) -> list[bytes]:
    files = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:limit]
    if files:
        return [p.read_bytes() for p in files]
    import io

    import numpy as np
    from PIL import Image

    from tests.scenes import random_scene

    rng = np.random.default_rng(0)
    photos = []
    for i in range(8):
        buf = io.BytesIO()
        Image.fromarray(random_scene(rng, 1 + i % 3).image).save(buf, format="JPEG", quality=90)
        photos.append(buf.getvalue())
    return photos


def soak(recognizer: object, rounds: int, every: int) -> None:
    from tests.data.bad.make_corpus import corpus_files

    corpus = corpus_files()
    print(f"== soak: {len(corpus)} corpus files x {rounds} rounds through Recognizer.identify")
    print(f"{'round':>6} {'elapsed_s':>10} {'rss_mb':>8} {'peak_mb':>8}")
    baseline = None
    started = time.perf_counter()
    outcomes: Counter[str] = Counter()
    round_no = 0
    try:
        for round_no in range(1, rounds + 1):
            soak_round(recognizer, corpus, round_no, outcomes)
            if round_no == 1:
                baseline = rss_mb()
            if round_no == 1 or round_no % every == 0 or round_no == rounds:
                print(f"{round_no:6d} {time.perf_counter() - started:10.1f} {rss_mb():8.1f} {peak_rss_mb():8.1f}",
                      flush=True)
    except KeyboardInterrupt:
        print(f"interrupted during round {round_no}")
    if baseline is None:
        return
    growth = rss_mb() - baseline
    done = max(1, round_no - 1)
    print(f"outcomes: {dict(outcomes)}")
    print(f"RSS after round 1: {baseline:.1f} MB, at the end: {rss_mb():.1f} MB, growth {growth:+.1f} MB "
          f"({growth / done * 1000:+.1f} KB/round over {done} rounds)")


def soak_round(recognizer: object, corpus: dict[str, bytes], round_no: int, outcomes: Counter[str]) -> None:
    """One pass over the corpus; a file answered otherwise than `EXPECTED` says stops the run."""
    from engine.errors import RecognizerError
    from tests.data.bad.make_corpus import EXPECTED

    for name, data in corpus.items():
        try:
            ident = recognizer.identify(data)  # type: ignore[attr-defined]
            outcome = "no_card" if not ident.cards else "cards"
        except RecognizerError as exc:
            outcome = exc.code
        expected = EXPECTED[name].outcome
        if (expected in ("bad_image", "too_large", "no_card") and outcome != expected) or (
            expected == "cards" and outcome != "cards"
        ):
            raise SystemExit(f"round {round_no}: {name} gave {outcome}, expected {expected}")
        outcomes[outcome] += 1


@dataclasses.dataclass
class LoadResult:
    name: str
    latencies_ms: list[float]
    outcomes: Counter[str]
    seconds: float
    peak_mb: float

    def render(self) -> str:
        lat = sorted(self.latencies_ms)
        p = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else lat * 99
        return (f"{self.name:9s} n={len(lat)} in {self.seconds:.1f}s  {dict(self.outcomes)}  "
                f"p50={p[49]:.0f}ms p99={p[98]:.0f}ms max={lat[-1]:.0f}ms  peak RSS {self.peak_mb:.0f} MB")


async def timed(tasks: list[Callable[[], Awaitable[str]]]) -> tuple[list[float], Counter[str], float]:
    """Start every task at once; per-task latency and the outcome label each returned."""
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()

    async def one(task: Callable[[], Awaitable[str]]) -> None:
        t0 = time.perf_counter()
        outcomes[await task()] += 1
        latencies.append((time.perf_counter() - t0) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(one(t) for t in tasks))
    return latencies, outcomes, time.perf_counter() - started


def label_reply(text: str) -> str:
    from bot import replies
    from engine.errors import EngineBusy

    if text.startswith(EngineBusy.user_message):
        return "refused_busy"
    if text.startswith(replies.NO_CARD):
        return "no_card"
    return "answered" if "confidence" in text or "not sure" in text.lower() or "I see" in text else "other"


async def load_service(recognizer: object, photos: list[bytes], n: int) -> LoadResult:
    import aiohttp
    from aiohttp.test_utils import TestServer

    from service.app import create_app
    from service.holder import EngineHolder
    from service.settings import ServiceSettings

    holder = EngineHolder(lambda: recognizer)
    await holder.reload()
    server = TestServer(create_app(holder, ServiceSettings(access_log=False)), host="127.0.0.1")
    await server.start_server()
    try:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            url = str(server.make_url("/identify"))

            def request(i: int) -> Callable[[], Awaitable[str]]:
                async def go() -> str:
                    async with session.post(url, data=photos[i % len(photos)]) as resp:
                        body = await resp.json()
                        if resp.status == 200:
                            return "answered" if body["cards"] else "no_card"
                        return "refused_busy" if body["error"]["code"] == "busy" else f"http_{resp.status}"

                return go

            latencies, outcomes, seconds = await timed([request(i) for i in range(n)])
    finally:
        await server.close()
    return LoadResult("service", latencies, outcomes, seconds, peak_rss_mb())


async def watch_replies(
    log: Any, reply_key: Callable[[Any], object | None], sent_at: dict[object, float]
) -> tuple[list[float], Counter[str], float]:
    """Latency and outcome of each request, by scanning the stand-in's call log as it grows.

    Polling (every 20 ms) instead of one `CallLog.wait_for` per request keeps the bench's own
    cost linear: 200 waiters re-checking the whole log on every call would saturate the event
    loop and be measured as bot latency.
    """
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    deadline = time.perf_counter() + REPLY_WAIT_S
    seen = 0
    pending = set(sent_at)
    while pending and time.perf_counter() < deadline:
        calls = log.calls
        for call in calls[seen:]:
            key = reply_key(call)
            if key in pending:
                pending.discard(key)
                latencies.append((time.perf_counter() - sent_at[key]) * 1000)
                outcomes[label_reply(reply_text(call))] += 1
        seen = len(calls)
        await asyncio.sleep(0.02)
    outcomes["no_reply"] += len(pending)
    return latencies, outcomes, time.perf_counter() - min(sent_at.values())


def reply_text(call: Any) -> str:
    if call.name == "sendMessage":
        return call.params["text"]
    embed = call.params["json"]["embeds"][0]
    return f"{embed.get('description', '')} {embed.get('title', '')}".strip()


async def load_telegram(recognizer: object, photos: list[bytes], n: int) -> LoadResult:
    from bot.runner import start_bots
    from bot.settings import BotSettings, BotTokens
    from tests.telegram_standin import TOKEN, TelegramStandin

    standin = TelegramStandin()
    await standin.start()
    settings = BotSettings(telegram_api_base=standin.base_url, telegram_file_base=standin.file_url,
                           telegram_poll_timeout_seconds=1, guild_requests_per_minute=0)
    group = await start_bots(recognizer, settings, tokens=BotTokens(telegram=TOKEN), platforms=("telegram",))  # type: ignore[arg-type]
    try:
        sent_at: dict[object, float] = {}
        for i in range(n):
            chat = 50_000 + i
            standin.push({"message": standin.message(chat, chat, photo=standin.photo(photos[i % len(photos)]))})
            sent_at[chat] = time.perf_counter()
        latencies, outcomes, seconds = await watch_replies(
            standin.log, lambda c: c.params.get("chat_id") if c.name == "sendMessage" else None, sent_at)
    finally:
        await group.stop(grace_seconds=30)
        await standin.stop()
    return LoadResult("telegram", latencies, outcomes, seconds, peak_rss_mb())


async def load_discord(recognizer: object, photos: list[bytes], n: int) -> LoadResult:
    from bot.runner import start_bots
    from bot.settings import BotSettings, BotTokens
    from tests.discord_standin import APP_ID, TOKEN, DiscordStandin

    standin = DiscordStandin()
    await standin.start()
    settings = BotSettings(discord_api_base=standin.api_base, guild_requests_per_minute=0)
    group = await start_bots(recognizer, settings, tokens=BotTokens(discord=TOKEN), platforms=("discord",))  # type: ignore[arg-type]
    try:
        sent_at: dict[object, float] = {}
        for i in range(n):
            interaction = standin.slash_card(60_000 + i, standin.attachment(photos[i % len(photos)]))
            await standin.dispatch("INTERACTION_CREATE", interaction)
            sent_at[f"POST /webhooks/{APP_ID}/{interaction['token']}"] = time.perf_counter()
        latencies, outcomes, seconds = await watch_replies(standin.log, lambda c: c.name, sent_at)
    finally:
        await group.stop(grace_seconds=30)
        await standin.stop()
    return LoadResult("discord", latencies, outcomes, seconds, peak_rss_mb())


LOADS = {"service": load_service, "telegram": load_telegram, "discord": load_discord}


def main() -> int:
    configure()  # the serving process's runtime (engine/runtime.py), measured as served
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", type=Path, help="artifact set (default: build a small one in a temp dir)")
    parser.add_argument("--photos", type=Path, default=PHOTOS,
                        help=shared_help("real photos; generated scenes where absent", PHOTOS))
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--every", type=int, default=50, help="print RSS every N rounds")
    parser.add_argument("--concurrent", type=int, default=200)
    parser.add_argument("--phases", default=",".join(PHASES))
    args = parser.parse_args()
    phases = [p for p in args.phases.split(",") if p]
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")

    from engine.recognizer import Recognizer
    from engine.settings import EngineSettings

    print(f"cardsight soak — {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPU, "
          f"{platform.system()} {platform.release()}, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="cardsight-soak-") as tmp:
        artifacts = args.artifacts or build_small_artifacts(Path(tmp))
        settings = EngineSettings()
        recognizer = Recognizer.load(artifacts, settings)
        print(f"artifacts: {recognizer.info()['gallery_size']} gallery entries; engine max_queue="
              f"{settings.max_queue}, max_cards={settings.max_cards}, timeout_s={settings.timeout_s}")
        print(f"RSS with the engine loaded: {rss_mb():.1f} MB")
        try:
            if "soak" in phases:
                soak(recognizer, args.rounds, args.every)
            load_phases = [p for p in phases if p in LOADS]
            if load_phases:
                photos = load_photos(args.photos)
                print(f"== load: {args.concurrent} photos at once ({len(photos)} distinct, "
                      f"from {'real photos' if args.photos.is_dir() else 'generated scenes'})")
                for phase in load_phases:
                    before = rss_mb()
                    result = asyncio.run(LOADS[phase](recognizer, photos, args.concurrent))
                    print(result.render() + f"  RSS {before:.0f} -> {rss_mb():.0f} MB", flush=True)
        finally:
            recognizer.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
