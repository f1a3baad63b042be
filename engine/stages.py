"""The recognizer's pluggable stages after the search: re-rankers and verifiers.

A re-ranker reorders each crop's gallery shortlist (the colour layout, engine/colour_layout.py);
a verifier votes on whether a crop is its top match, for the calibrator to weigh (the art
check, engine/verify.py, the edge check and the edge lead, engine/art_edges.py, and the title
check, engine/title_read.py). The recognizer holds
them as lists, builds them from what the artifact set and settings provide (`of_set`), and
names them in its info; the next check is one more class here and one more entry there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

from engine.art_edges import RIVAL_NAMES, ArtEdges, edge_agreements, lead
from engine.colour_layout import ColourLayouts
from engine.title_read import TitleReader, agreement, title_vote, warp_strip
from engine.verify import art_agreement, crop_lab, half_turned

if TYPE_CHECKING:
    from engine.recognizer import Candidates


class Reranker(Protocol):
    name: str

    @property
    def shortlist(self) -> int:
        """How many of the embedding's best matches it wants to reorder."""

    def rerank(self, crop: np.ndarray, scores: np.ndarray, rows: np.ndarray,
               keep: int) -> tuple[np.ndarray, np.ndarray]:
        """The best `keep` of one crop's shortlist (scores, rows; −1 rows pad), best first."""


class Verifier(Protocol):
    name: str
    """The calibrator's input it feeds: "art", "edges", "edge_lead" or "title"."""

    def vote(self, found: Candidates) -> float:
        """Evidence that the crop is its top match, −1…1; 0 is no opinion."""


class ArtCheck:
    """`engine.verify.art_agreement` of the crop with its top match's stored colour layout."""

    name = "art"

    def __init__(self, layouts: ColourLayouts) -> None:
        self._layouts = layouts

    def vote(self, found: Candidates) -> float:
        if not found.rows:
            return 0.0
        return art_agreement(crop_lab(found.crop), self._layouts.signature(found.rows[0]))


class EdgeCheck:
    """`engine.art_edges.edge_agreement` of the crop with its top match's stored edge map."""

    name = "edges"

    def __init__(self, edges: ArtEdges) -> None:
        self._edges = edges

    def vote(self, found: Candidates) -> float:
        return edge_agreements_of(self._edges, found)[0] if found.rows else 0.0


class EdgeLead:
    """`engine.art_edges.edge_lead`: the crop's edge agreement with its top match ahead of the
    best with the next `RIVAL_NAMES` names' matches (other printings of the top name are no
    rivals)."""

    name = "edge_lead"

    def __init__(self, edges: ArtEdges) -> None:
        self._edges = edges

    def vote(self, found: Candidates) -> float:
        return lead(edge_agreements_of(self._edges, found)) if found.rows else 0.0


def edge_agreements_of(edges: ArtEdges, found: Candidates) -> list[float]:
    """The crop's edge agreement with its top match and with each rival name's best match
    (`rival_rows`), in that order. Both edge verifiers ask for them, and calibration again of
    each card's "without its name" copy: they are kept by gallery row in `found`, and the crop's
    own edges are computed once for all the rows still missing (~0.3 ms of a card's ~1 ms)."""
    rows = [found.rows[0], *rival_rows(found)]
    missing = [row for row in dict.fromkeys(rows) if row not in found.edge_agreements]
    if missing:
        found.edge_agreements.update(zip(missing, edge_agreements(found.crop, [edges.edge_map(r) for r in missing])))
    return [found.edge_agreements[row] for row in rows]


def rival_rows(found: Candidates, count: int = RIVAL_NAMES) -> list[int]:
    """Gallery rows of the best match of each of the `count` names ranked after the top name."""
    seen, rows = {found.matches[0].name}, []
    for match, row in zip(found.matches, found.rows):
        if match.name not in seen:
            seen.add(match.name)
            rows.append(row)
            if len(rows) == count:
                break
    return rows


class TitleCheck:
    """`engine.title_read.title_vote` of the card's printed title for its top name; no opinion
    where the title can't be read (no photo, a whole-frame guess)."""

    name = "title"

    def __init__(self, reader: TitleReader, layouts: ColourLayouts | None) -> None:
        self._reader = reader
        self._layouts = layouts

    def vote(self, found: Candidates) -> float:
        if found.source is None or found.source_quad is None or not found.matches:
            return 0.0
        turned = title_end(found, self._layouts)
        name = found.matches[0].name
        for end in (turned, not turned):  # the layout's guess of where the title is, then the other end
            if end not in found.titles_read:
                found.titles_read[end] = self._reader.read(warp_strip(found.source, found.source_quad, end))
            if agreement(found.titles_read[end].text, name) is not None:
                return title_vote(found.titles_read[end], name)
        return 0.0


def title_end(found: Candidates, layouts: ColourLayouts | None) -> bool:
    """The end of the outline the title likely lies at: True where the crop's colour layout
    matches its top match's half turned (`engine.verify.half_turned`); False without layouts."""
    if layouts is None or not found.rows:
        return False
    return half_turned(crop_lab(found.crop), layouts.signature(found.rows[0]))


def of_set(layouts: ColourLayouts | None, titles: TitleReader | None,
           edges: ArtEdges | None = None) -> tuple[tuple[Reranker, ...], dict[str, Verifier]]:
    """The stages a set's layouts and edge maps (sets built before them have none) and the title
    reader (`[engine] read_titles`) make possible."""
    rerankers: tuple[Reranker, ...] = (layouts,) if layouts is not None else ()
    verifiers: list[Verifier] = []
    if layouts is not None:
        verifiers.append(ArtCheck(layouts))
    if edges is not None:
        verifiers.append(EdgeCheck(edges))
        verifiers.append(EdgeLead(edges))
    if titles is not None:
        verifiers.append(TitleCheck(titles, layouts))
    return rerankers, {v.name: v for v in verifiers}
