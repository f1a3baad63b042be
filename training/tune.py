"""Hyper-parameter search over the run config: an optuna study of short, prunable training runs.

Each trial trains the recipe with some fields changed (training/search.toml says which and
over what ranges) on a random subset of the gallery, and every `eval_every` steps scores the
network on simulated photos of those cards (seed 9001 by default, apart from the benchmark's):
the true card outline is warped straight to a crop, so the score is the embedding's alone,
without the detector or the colour-layout re-ranking. optuna's MedianPruner stops a trial whose
score falls below the median of earlier trials at the same step. The study lives in a database
(`--storage sqlite:///...`), so a stopped search resumes with the trials it still owes.

Trials this short rank configs only roughly: a config that learns fast wins here even if a
slower one would end higher after the recipe's 1000 steps.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import cv2
import numpy as np
import torch

from configuration import ConfigError
from engine.quad import warp_quad
from training.config import RunConfig, from_dict
from training.gallery import GalleryItem, load_card_image
from training.model import CardEmbedder
from training.photosim import PhotoSimConfig, encode_jpeg, simulate_photo

if TYPE_CHECKING:
    import optuna

log = logging.getLogger(__name__)

SEARCH_FILE = Path(__file__).with_name("search.toml")
OBJECTIVES = ("mrr5", "top1")
STORE_SIZE = (240, 336)
"""(W, H) validation crops and references are kept at, then resized to each trial's input."""


@dataclass(frozen=True)
class Param:
    """One searched parameter: the run-config fields it sets and its range or choices."""

    name: str
    fields: tuple[str, ...]
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: optuna.Trial) -> tuple[Any, ...]:
        """The trial's value for each of `fields`."""
        if self.choices:
            labels = [_label(c) for c in self.choices]
            picked = self.choices[labels.index(trial.suggest_categorical(self.name, labels))]
            return tuple(picked) if isinstance(picked, list) else (picked,)
        if self.integer:
            return (trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log),)
        return (trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log),)

    def label_of(self, cfg: RunConfig) -> Any | None:
        """What optuna would record for `cfg`'s current values; None where outside the space."""
        values = [_get(cfg, f) for f in self.fields]
        if self.choices:
            value = values if len(values) > 1 else values[0]
            labels = {_label(c): c for c in self.choices}
            return _label(value) if _label(value) in labels else None
        (value,) = values
        return value if self.low <= value <= self.high else None


@dataclass(frozen=True)
class SearchSpace:
    """training/search.toml: the study's budget, the trial-only overrides and the parameters."""

    trials: int = 8
    steps: int = 80
    eval_every: int = 20
    objective: str = "mrr5"
    cards: int = 200
    photos: int = 200
    seed: int = 9001
    hardness: float = 1.0
    startup_trials: int = 2
    warmup_steps: int = 20
    trial: dict[str, Any] = field(default_factory=dict)
    params: tuple[Param, ...] = ()

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"[study].objective must be one of {', '.join(OBJECTIVES)}, not {self.objective!r}")
        if min(self.trials, self.steps, self.eval_every, self.photos) < 1:
            raise ConfigError("[study] trials, steps, eval_every and photos must be at least 1")


def load_search_space(path: Path = SEARCH_FILE) -> SearchSpace:
    try:
        with Path(path).open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    unknown = set(data) - {"study", "trial", "params"}
    if unknown:
        raise ConfigError(f"{path}: unknown sections: {', '.join(sorted(unknown))}")
    known = {f.name for f in dataclasses.fields(SearchSpace)} - {"trial", "params"}
    study = data.get("study", {})
    if set(study) - known:
        raise ConfigError(f"{path}: unknown [study] keys: {', '.join(sorted(set(study) - known))}")
    params = []
    for name, spec in data.get("params", {}).items():
        spec = dict(spec)
        fields = tuple(spec.pop("fields", ()))
        choices = tuple(spec.pop("choices", ()))
        low, high = spec.pop("low", None), spec.pop("high", None)
        param = Param(name, fields, low, high, bool(spec.pop("log", False)), bool(spec.pop("int", False)), choices)
        if spec:
            raise ConfigError(f"{path}: [params.{name}] unknown keys: {', '.join(sorted(spec))}")
        if not fields or (not choices and (low is None or high is None)):
            raise ConfigError(f"{path}: [params.{name}] needs `fields` and either `choices` or `low` and `high`")
        params.append(param)
    return SearchSpace(**study, trial=dict(data.get("trial", {})), params=tuple(params))


def apply(cfg: RunConfig, values: dict[str, Any]) -> RunConfig:
    """`cfg` with "section.field" keys set, checked as a config file would be."""
    data = cfg.to_dict()
    for key, value in values.items():
        section, _, name = key.partition(".")
        if section not in data or name not in data[section]:
            raise ConfigError(f"no run-config field {key!r}")
        data[section][name] = value
    return from_dict(data)


def _get(cfg: RunConfig, key: str) -> Any:
    section, _, name = key.partition(".")
    return getattr(getattr(cfg, section), name)


def _label(value: Any) -> Any:
    """optuna's categorical choices must be scalars: a list choice is recorded as "128x176"."""
    return "x".join(str(v) for v in value) if isinstance(value, (list, tuple)) else value


class Validation:
    """Simulated photos of the chosen cards, their true outlines warped to upright crops."""

    def __init__(self, items: Sequence[GalleryItem], photos: int, seed: int, hardness: float) -> None:
        rng = np.random.default_rng(seed)
        sim = PhotoSimConfig(hardness=hardness)
        self.names = [i.entry.name for i in items]
        self.references = [load_card_image(i.image_path, STORE_SIZE) for i in items]
        self.crops, self.truth = [], []
        for _ in range(photos):
            pick = int(rng.integers(len(items)))
            photo = simulate_photo([load_card_image(items[pick].image_path)], rng, sim)
            seen = cv2.imdecode(np.frombuffer(encode_jpeg(photo.image, int(rng.integers(70, 95))), np.uint8),
                                cv2.IMREAD_COLOR)[..., ::-1]
            self.crops.append(warp_quad(seen, photo.quads[0], STORE_SIZE))
            self.truth.append(self.names[pick])

    def score(self, model: CardEmbedder) -> dict[str, float]:
        """top-1 and MRR@5 of the right name among the references' (both half turns matched)."""
        size = (model.cfg.input_width, model.cfg.input_height)
        was_training = model.training
        model.eval()
        try:
            refs = _embed(model, self.references, size)
            turned = _embed(model, [r[::-1, ::-1] for r in self.references], size)
            queries = _embed(model, self.crops, size)
        finally:
            model.train(was_training)
        scores = np.maximum(queries @ refs.T, queries @ turned.T)
        reciprocal, top1 = [], 0
        for row, truth in zip(scores, self.truth):
            names: list[str] = []
            for j in np.argsort(-row):
                if self.names[j] not in names:
                    names.append(self.names[j])
                if len(names) == 5:
                    break
            rank = names.index(truth) + 1 if truth in names else None
            top1 += rank == 1
            reciprocal.append(1.0 / rank if rank else 0.0)
        return {"top1": top1 / len(self.truth), "mrr5": float(np.mean(reciprocal))}


@torch.no_grad()
def _embed(model: CardEmbedder, images: Sequence[np.ndarray], size: tuple[int, int], batch: int = 64) -> np.ndarray:
    device = next(model.parameters()).device
    out = []
    for i in range(0, len(images), batch):
        chunk = np.stack([cv2.resize(np.ascontiguousarray(im), size, interpolation=cv2.INTER_AREA)
                          for im in images[i : i + batch]])
        out.append(model(torch.from_numpy(chunk).to(device)).float().cpu().numpy())
    return np.concatenate(out)


@dataclass
class TrialRow:
    number: int
    state: str
    params: dict[str, Any]
    top1: float | None
    mrr5: float | None
    step: int | None
    seconds: float | None


def tune(
    items: Sequence[GalleryItem], base: RunConfig, space: SearchSpace, out_dir: Path, *,
    storage: str, study_name: str, progress: bool = False,
) -> tuple[list[TrialRow], RunConfig]:
    """Run the trials the study still owes (`space.trials` in all); returns every trial's row
    and the best config: `base` with the best trial's parameters (not the trial-only overrides,
    and the recipe's own `steps`)."""
    import optuna

    from training.train import train

    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(space.seed)
    subset = list(items)
    if 0 < space.cards < len(items):
        subset = [items[int(i)] for i in sorted(rng.choice(len(items), size=space.cards, replace=False))]
    started = time.perf_counter()
    validation = Validation(subset, space.photos, space.seed + 1, space.hardness)
    log.info("validation: %d photos of %d cards in %.0f s", space.photos, len(subset), time.perf_counter() - started)

    study = optuna.create_study(
        storage=storage, study_name=study_name, load_if_exists=True, direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=space.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=space.startup_trials, n_warmup_steps=space.warmup_steps),
    )
    for stale in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(stale.number, state=optuna.trial.TrialState.FAIL)  # a run killed mid-trial
    if not study.trials:
        baseline = {p.name: p.label_of(base) for p in space.params}
        study.enqueue_trial({k: v for k, v in baseline.items() if v is not None})

    def objective(trial: optuna.Trial) -> float:
        values = {f: v for p in space.params for f, v in zip(p.fields, p.suggest(trial))}
        cfg = apply(base, {**space.trial, **values, "train.steps": space.steps,
                           "train.checkpoint_every": space.steps})
        t0 = time.perf_counter()

        def report(step: int, model: CardEmbedder) -> None:
            scores = validation.score(model)
            trial.set_user_attr(f"top1@{step}", scores["top1"])
            trial.set_user_attr(f"mrr5@{step}", scores["mrr5"])
            trial.set_user_attr("step", step)
            trial.set_user_attr("seconds", time.perf_counter() - t0)
            trial.report(scores[space.objective], step)
            log.info("trial %d step %d: top-1 %.3f, MRR@5 %.3f", trial.number, step, scores["top1"], scores["mrr5"])
            if trial.should_prune():
                raise optuna.TrialPruned()

        train([i.image_path for i in subset], out_dir / f"trial-{trial.number}", cfg, restart=True,
              progress=progress, report_every=space.eval_every, on_report=report)
        return float(trial.user_attrs[f"{space.objective}@{space.steps}"])

    finished = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED
    owed = space.trials - sum(t.state in finished for t in study.trials)
    if owed > 0:
        study.optimize(objective, n_trials=owed, catch=())
    rows = [
        TrialRow(t.number, t.state.name, dict(t.params),
                 t.user_attrs.get(f"top1@{t.user_attrs.get('step')}"),
                 t.user_attrs.get(f"mrr5@{t.user_attrs.get('step')}"),
                 t.user_attrs.get("step"), t.user_attrs.get("seconds"))
        for t in study.trials
    ]
    best_values = {}
    for p in space.params:
        if p.name in study.best_trial.params:
            label = study.best_trial.params[p.name]
            picked = next((c for c in p.choices if _label(c) == label), label) if p.choices else label
            best_values.update(zip(p.fields, picked if isinstance(picked, list) else (picked,)))
    return rows, apply(base, best_values)


def table(rows: Sequence[TrialRow], space: SearchSpace) -> str:
    """The study as a plain-text table: one line per trial, best objective first."""
    names = [p.name for p in space.params]
    head = ["trial", "state", "step", "top1", "mrr5", "s", *names]
    key = space.objective

    def sort_key(r: TrialRow) -> float:
        value = getattr(r, key)
        return -(value if value is not None else -1.0)

    lines = []
    for r in sorted(rows, key=sort_key):
        cells = [str(r.number), r.state, str(r.step or "-"),
                 f"{r.top1:.3f}" if r.top1 is not None else "-", f"{r.mrr5:.3f}" if r.mrr5 is not None else "-",
                 f"{r.seconds:.0f}" if r.seconds is not None else "-"]
        cells += [_fmt(r.params.get(n)) for n in names]
        lines.append(cells)
    widths = [max(len(h), *(len(c[i]) for c in lines)) if lines else len(h) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*head), *(fmt.format(*c) for c in lines)])


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
