"""Card outlines from a small learned segmenter: one quad per card, even when edges are broken.

Classical contour passes need a closed outline, which a finger, glare or wood grain often
breaks, and they cannot tell two touching cards from one blob. A tiny CNN (trained by
`training/segmenter_train.py` on simulated photos) labels every pixel of a 160x120 copy
as background, card interior or card boundary band. The band runs along every card's
visible outline, so interior minus band falls apart into one blob per card; each blob's
quad has sides that are lines fitted to its outline (sub-pixel, and robust to a notch
where a finger covers the edge), moved out to the middle of the band around it. A blob the
photo's edge cuts is outlined by its sides in view only (engine/frame_cut.py: the geometry
of cut cards), for the detector to complete.

The network is optional: without its ONNX file the detector runs classical passes only.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from engine.embed import cpu_session
from engine.frame_cut import area_in_view, cut_outline
from engine.quad import box_holds, intersect_lines, order_corners, quad_area, side_line, side_lengths

log = logging.getLogger(__name__)

MODEL_PATH = Path(__file__).parent / "models" / "card_segmenter.onnx"
BACKGROUND, INTERIOR, BOUNDARY = 0, 1, 2
BAND_RADIUS = 2  # half-width of the boundary band in class-map pixels, as trained
MIN_FILL = 0.75  # blob area over quad area (and its inverse): below it the blob is no quad
MIN_BLOB_PIXELS = 40  # a card whose interior blob is smaller is too small to read
_BAND_REACH = 3 * BAND_RADIUS + 1  # how far out from a blob its band is looked for
SQUARE_ON_SCREEN = 0.95
"""Ratio of a quad's shorter to its longer pair of sides over which which pair is shorter is a
matter of a pixel or two on the class map: a card seen steeply from one end looks square (a
simulated photo's Smoke, 0.99 on screen, rectifies to a card's 0.717), and its blob and band may
then order their corners a quarter turn apart. Both must look so: a playmat patch whose blob is
squarish but whose band is clearly long the other way stays no card."""


class CardSegmenter:
    """ONNX Runtime session around the segmenter network."""

    def __init__(self, model_path: Path = MODEL_PATH, *, threads: int = 1) -> None:
        self._session = cpu_session(model_path, threads)
        (inp,) = self._session.get_inputs()
        self._input = inp.name
        _, height, width, channels = inp.shape
        if not (isinstance(width, int) and isinstance(height, int) and width >= height and channels == 3):
            raise ValueError(f"{model_path} takes {inp.shape}; expected fixed landscape (N, H, W, 3) uint8")
        self.input_size = (width, height)

    def segment(self, rgb: np.ndarray, box: tuple[int, int, int, int] | None = None) -> "Segmentation":
        """Class map of `rgb` (any size or orientation), or of its window `box` (x0, y0, x1, y1),
        turned landscape at the model's input size; the Segmentation is in the window's pixels."""
        if box is not None:
            x0, y0, x1, y1 = box
            rgb = rgb[y0:y1, x0:x1]
        portrait = rgb.shape[0] > rgb.shape[1]
        landscape = rgb.transpose(1, 0, 2) if portrait else rgb
        small = cv2.resize(landscape, self.input_size, interpolation=cv2.INTER_AREA)
        (logits,) = self._session.run(None, {self._input: np.ascontiguousarray(small)[None]})
        return Segmentation(logits[0].argmax(axis=0).astype(np.uint8), (rgb.shape[1], rgb.shape[0]),
                            whole_photo=box is None)


class Segmentation:
    """A landscape class map and the mapping between its pixels and the segmented image's.

    A portrait image is segmented transposed, so class-map x is image y and vice versa.
    `whole_photo`: the map covers the photo, not a window of it, so its edges are where the
    camera's view ends and a blob they cut is a card running off the frame.
    """

    def __init__(self, classes: np.ndarray, image_size: tuple[int, int], *, whole_photo: bool = True) -> None:
        self.classes = classes
        self.image_size = image_size
        self.whole_photo = whole_photo
        width, height = image_size
        self._portrait = height > width
        long_side, short_side = max(width, height), min(width, height)
        self._scale = np.float32([long_side / classes.shape[1], short_side / classes.shape[0]])
        self.pixel_size = float(self._scale.max())
        """Image pixels a class-map pixel spans: how far off the segmenter's quads may be."""

    def _to_image(self, points: np.ndarray) -> np.ndarray:
        scaled = points * self._scale
        return scaled[:, ::-1] if self._portrait else scaled

    def _to_classes(self, points: np.ndarray) -> np.ndarray:
        landscape = points[:, ::-1] if self._portrait else points
        return landscape / self._scale

    def quads(self, around: np.ndarray | None = None) -> list["BlobQuad"]:
        """Quad (ordered, image pixels) and fill of each card blob; see BlobQuad.

        `around` (x0, y0, x1, y1, image pixels): only blobs centred in it, sparing the outline
        fits of the neighbours a closer look's window also shows.
        """
        box = None
        if around is not None:
            corners = self._to_classes(np.float32([around[:2], around[2:]]))
            box = np.concatenate([corners.min(axis=0), corners.max(axis=0)])
        return [found._replace(quad=order_corners(self._to_image(found.quad), self.image_size))
                for found in quads_from_classes(self.classes, box, frame_cuts=self.whole_photo)]

    def card_regions(self) -> list[np.ndarray]:
        """Bounding box (x0, y0, x1, y1, image pixels) of each connected patch labelled card.

        A patch holds one card, or several that touch, with any splits the network drew
        inside it (a finger across the card, or its own frame lines on a small card).
        """
        return self._component_boxes(self.classes != BACKGROUND, connectivity=8, grow=0)

    def patch_quads(self) -> list[np.ndarray]:
        """Quad (ordered, image pixels) of each connected patch labelled card, on the middle of
        its boundary band.

        Where the network drew a card's own frame lines as boundary, the patch still has the
        card's outline while its interior falls apart into pieces of other shapes.
        """
        mask = (self.classes != BACKGROUND).astype(np.uint8)
        count, patches, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        quads = []
        for label in range(1, count):
            x, y, w, h, area = stats[label]
            if area < MIN_BLOB_PIXELS:
                continue
            contours, _ = cv2.findContours((patches[y:y + h, x:x + w] == label).astype(np.uint8),
                                           cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            quad = fit_quad(max(contours, key=cv2.contourArea))
            if quad is None or quad_area(quad) <= 0:
                continue
            # Contour points are the patch's outermost pixel indices; the card edge runs
            # BAND_RADIUS inside its outer edge, which lies half a pixel beyond them.
            quad = quad + np.float32([x + 0.5, y + 0.5]) + _outward(quad, 0.5 - BAND_RADIUS)
            quads.append(order_corners(self._to_image(quad), self.image_size))
        return quads

    def interior_regions(self) -> list[np.ndarray]:
        """Bounding box (x0, y0, x1, y1, image pixels) of each card interior blob with its band.

        Where cards touch or overlap, one patch holds several of these: one per card the
        network separated, or per piece of a card it split.
        """
        return self._component_boxes(self.classes == INTERIOR, connectivity=4, grow=2 * BAND_RADIUS)

    def _component_boxes(self, mask: np.ndarray, *, connectivity: int, grow: int) -> list[np.ndarray]:
        """Image-pixel bounding boxes of the mask's components of at least MIN_BLOB_PIXELS,
        grown by `grow` class-map pixels on every side."""
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=connectivity)
        boxes = []
        for x, y, w, h, area in stats[1:count]:
            if area >= MIN_BLOB_PIXELS:
                corners = self._to_image(np.float32([[x - grow, y - grow], [x + w + grow, y + h + grow]]))
                boxes.append(np.concatenate([corners.min(axis=0), corners.max(axis=0)]))
        return boxes

    def card_share(self, quad: np.ndarray) -> float:
        """Share of a quad (image pixels) that the segmenter labels card (interior or boundary)."""
        mask = np.zeros(self.classes.shape, np.uint8)
        cv2.fillConvexPoly(mask, np.round(self._to_classes(np.asarray(quad, np.float32)) - 0.5).astype(np.int32), 1)
        inside = mask.astype(bool)
        total = np.count_nonzero(inside)
        return float(np.count_nonzero(self.classes[inside] != BACKGROUND)) / total if total else 0.0


class BlobQuad(NamedTuple):
    """A card blob's quad, how fully the blob fills it (blob area over the quad's area in
    view), and whether the frame cuts the card: then one side is where the card leaves the
    photo, for engine/frame_cut.py to complete."""

    quad: np.ndarray
    fill: float
    cut: bool


def quads_from_classes(classes: np.ndarray, around: np.ndarray | None = None, *,
                       frame_cuts: bool = False) -> list[BlobQuad]:
    """One quad (class-map pixels) per interior blob; blobs that are not quads are dropped.

    `around` (x0, y0, x1, y1): only blobs whose bounding box is centred in it.
    `frame_cuts`: the map's edges are the photo's, so a blob they cut is outlined by its
    sides in view alone (see `cut_outline`), and its fill is measured inside the map.

    The card edge runs down the middle of the boundary band, so each side is placed midway
    between the blob's own outline and the outline of the blob plus the band around it.
    Taking the middle rather than growing the blob by the trained half-width keeps the quad
    on the edge when the network draws the band wider or narrower than it was taught.
    """
    interior = (classes == INTERIOR).astype(np.uint8)
    count, blobs, stats, _ = cv2.connectedComponentsWithStats(interior, connectivity=4)
    # Band pixels belong to the nearest blob, so the band between two close cards is split.
    distance, nearest = cv2.distanceTransformWithLabels(1 - interior, cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_CCOMP)
    band = ((classes == BOUNDARY) & (distance <= _BAND_REACH)).astype(np.uint8)
    found = []
    for label in range(1, count):
        if stats[label, cv2.CC_STAT_AREA] < MIN_BLOB_PIXELS:
            continue
        x, y, w, h = stats[label, :4]
        if around is not None and not box_holds(around, (x + w / 2, y + h / 2)):
            continue
        x0, y0 = max(0, x - _BAND_REACH - 1), max(0, y - _BAND_REACH - 1)
        x1, y1 = x + w + _BAND_REACH + 1, y + h + _BAND_REACH + 1
        inner = (blobs[y0:y1, x0:x1] == label).astype(np.uint8)
        near = nearest[y0:y1, x0:x1]
        own_label = near[inner.astype(bool)][0]  # the distance transform's id for this blob
        outer = inner | (band[y0:y1, x0:x1] & (near == own_label))
        frame = None
        if frame_cuts and (x == 0 or y == 0 or x + w == classes.shape[1] or y + h == classes.shape[0]):
            frame = np.float32([-x0, -y0, classes.shape[1] - 1 - x0, classes.shape[0] - 1 - y0])
        inner_quad, outer_quad, cut = _outline_quads(inner, outer, frame)
        if inner_quad is None or outer_quad is None:
            continue
        fill = float(np.count_nonzero(inner)) / max(area_in_view(inner_quad, frame, cut), 1.0)
        # To pixel-edge coordinates (what warps and scaling assume): contour points are the
        # indices of the outermost pixels, whose centres sit at +0.5 and outer edges beyond.
        inner_quad, outer_quad = order_corners(inner_quad), order_corners(outer_quad)
        turns = _turns_between(inner_quad, outer_quad)
        if turns % 2 and not cut and not _looks_square(inner_quad, outer_quad):
            # (a cut card's sides in view say nothing of which are short, nor do a square-looking
            # card's: the detector settles those by the perspective-corrected shape)
            continue  # the blob and its band disagree on which sides are short: no card's shape
        middle = (inner_quad + np.roll(outer_quad, -turns, axis=0)) / 2
        quad = middle + np.float32([x0 + 0.5, y0 + 0.5]) + _outward(middle, 0.5)
        if MIN_FILL <= fill <= 1.0 / MIN_FILL:
            found.append(BlobQuad(quad, fill, cut))
    return found


def _looks_square(*quads: np.ndarray) -> bool:
    """Whether each of the quads has two pairs of sides too alike to tell short from long."""
    return all(min(pair) >= SQUARE_ON_SCREEN * max(pair) for pair in map(side_lengths, quads))


def _turns_between(reference: np.ndarray, quad: np.ndarray) -> int:
    """How many places `quad`'s corners are rolled from lying beside `reference`'s.

    order_corners picks the start of a card lying on its side, or at 45 degrees, by a
    near-tie that two almost equal outlines can break 180 degrees apart; averaging such a
    pair corner by corner would collapse it towards the centre.
    """
    return min(range(4), key=lambda k: float(np.abs(np.roll(quad, -k, axis=0) - reference).sum()))


def _outline_quads(inner: np.ndarray, outer: np.ndarray,
                   frame: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None, bool]:
    """Card quads of a blob and of the blob with its band, and whether one side of each is
    where the frame cuts the card; `frame` (x0, y0, x1, y1, mask pixels): where the photo
    ends, when the blob reaches it. Both are fitted alike, so that their corners pair up."""
    contours = [max(cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[0], key=cv2.contourArea)
                for mask in (inner, outer)]
    # The network often leaves the last pixels before the photo's edge background or band.
    fits = [cut_outline(contour, frame, 2 * BAND_RADIUS + 1) for contour in contours] if frame is not None else [None, None]
    if any(fit is None for fit in fits):
        fits = [(fit_quad(contour), False) for contour in contours]
    elif fits[0][1] != fits[1][1]:  # one saw a corner off the frame, the other a cut side: take the whole quad
        fits = [next(fit for fit in fits if not fit[1])] * 2
    (inner_quad, cut), (outer_quad, _) = fits
    inner_quad, outer_quad = (quad if quad is not None and quad_area(quad) > 0 else None
                              for quad in (inner_quad, outer_quad))
    return inner_quad, outer_quad, cut


def fit_quad(contour: np.ndarray) -> np.ndarray | None:
    """Four corners of a card-shaped outline, each side a line fitted to its outline points.

    The convex hull's 4-vertex simplification locates the sides roughly (a finger's notch
    or a rounded corner does not survive the hull); each side's line is then fitted to the
    outline points near its middle that lie on it, and the corners are their intersections.
    """
    hull = cv2.convexHull(contour)
    perimeter = cv2.arcLength(hull, True)
    rough = None
    for epsilon in (0.02, 0.04, 0.06):
        polygon = cv2.approxPolyDP(hull, epsilon * perimeter, True)
        if len(polygon) == 4:
            rough = polygon.reshape(4, 2).astype(np.float32)
            break
        if len(polygon) < 4:
            return None
    if rough is None:
        rough = cv2.boxPoints(cv2.minAreaRect(hull)).astype(np.float32)
    points = contour.reshape(-1, 2).astype(np.float32)
    lines = []
    for i in range(4):
        start, end = rough[i], rough[(i + 1) % 4]
        lines.append(side_line(points, start, end))
    corners = [intersect_lines(lines[i - 1], lines[i]) for i in range(4)]
    if any(c is None for c in corners):
        return rough
    quad = np.float32(corners)
    if np.abs(quad - rough).max() > 0.25 * np.sqrt(max(quad_area(rough), 1.0)):
        return rough  # a wild line fit (too few points on a side): keep the hull polygon
    return quad


def _outward(quad: np.ndarray, distance: float) -> np.ndarray:
    """Per-corner shift that moves every side of a convex quad `distance` outwards (approx.)."""
    centre = quad.mean(axis=0)
    away = quad - centre
    return distance * away / np.maximum(np.linalg.norm(away, axis=1, keepdims=True), 1e-6) * np.sqrt(2.0)


def load_segmenter(model_path: Path = MODEL_PATH) -> CardSegmenter | None:
    """The segmenter at `model_path`, or None (logged) when the file is absent."""
    if not model_path.exists():
        log.info("no card segmenter at %s: detecting cards with classical outlines only", model_path)
        return None
    return CardSegmenter(model_path)
