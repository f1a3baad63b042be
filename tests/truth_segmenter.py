"""A stand-in for the card segmenter that 'predicts' the true class map of known card quads,
so detection's use of segmenter outlines is tested apart from the network's mistakes."""

from __future__ import annotations

import numpy as np

from engine.segmenter import Segmentation
from training.segmenter_data import label_map

MAP_SIZE = (256, 192)  # (W, H) of the class maps post-processing is tested on


class TruthSegmenter:
    """Stand-in for CardSegmenter over a photo whose card quads are known."""

    input_size = MAP_SIZE

    def __init__(self, quads: list[np.ndarray], image_size: tuple[int, int]) -> None:
        self.quads, self.image_size = quads, image_size

    def segment(self, rgb: np.ndarray, box: tuple[int, int, int, int] | None = None) -> Segmentation:
        x0, y0, x1, y1 = box or (0, 0, rgb.shape[1], rgb.shape[0])
        return Segmentation(label_map(self.map_quads(rgb, box), MAP_SIZE), (x1 - x0, y1 - y0), whole_photo=box is None)

    def map_quads(self, rgb: np.ndarray, box: tuple[int, int, int, int] | None = None) -> list[np.ndarray]:
        """The cards' quads in class-map pixels of `rgb` (the detector's work copy) or its window."""
        x0, y0, x1, y1 = box or (0, 0, rgb.shape[1], rgb.shape[0])
        factor = rgb.shape[1] / self.image_size[0]  # the detector's work copy over the photo
        width, height = x1 - x0, y1 - y0
        portrait = height > width
        scale = np.float32([MAP_SIZE[0], MAP_SIZE[1]]) / np.float32([max(width, height), min(width, height)])
        return [((q * factor - (x0, y0))[:, ::-1] if portrait else q * factor - (x0, y0)) * scale for q in self.quads]
