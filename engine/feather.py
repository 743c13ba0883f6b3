"""Feathering weights: how much each image counts at a pixel of a blended mosaic.

A hard cut between two images shows as a line wherever their radiometry
differs. Feathering replaces the cut by a ramp over a blend distance ``D``
(in pixels here):

* **Along seamlines.** Each image owns a region (its seamline polygon). Its
  weight rises from 0 at ``D/2`` outside its region to 1 at ``D/2`` inside, a
  linear ramp of the signed distance to the region's edge, so two images meet
  at 0.5/0.5 exactly on the seamline.
* **At footprint edges.** An image's weight also falls to 0 towards the edge
  of its own valid pixels (over ``D/2`` with seamlines, over ``D`` without,
  which is then the only term), so a seam close to an image's edge never
  pulls in that image's last, often darker, pixels with full weight.

Weights are normalised to sum to 1 where any image is valid. Distances are
exact Euclidean pixel distances capped at the ramp length, so a window needs
a halo of only ``ceil(D)`` (or ``ceil(D / 2)``) pixels and every pixel's weight
is the same whatever window it is computed in.
"""

import math
from typing import Optional

import numpy as np

#: Weight of an image where it is valid but every seam ramp is 0 (a pixel
#: outside every seamline region of the images covering it): there the
#: images blend by footprint-edge distance alone instead of leaving a hole.
SEAM_FLOOR = 1e-6


def halo(distance: float, seams: bool) -> int:
    """Pixels of context a window needs for blend distance ``distance`` (pixels)."""
    return math.ceil(distance / 2 if seams else distance) + 1


def distance_inside(mask: np.ndarray) -> np.ndarray:
    """Distance (pixels, float32) from each True pixel's centre to the nearest edge of the
    True area (0.5 for a pixel on the edge); 0 where ``mask`` is False. An area with no
    edge in the array gets a large distance."""
    import cv2

    if not mask.any():
        return np.zeros(mask.shape, np.float32)
    if mask.all():
        return np.full(mask.shape, np.float32(1e9))
    distance = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return np.where(mask, distance - np.float32(0.5), np.float32(0))


def _ramp(values: np.ndarray, length: float) -> np.ndarray:
    return np.clip(values / np.float32(length), 0, 1)


def weight(footprint: np.ndarray, distance: float,
           region: Optional[np.ndarray] = None) -> np.ndarray:
    """Unnormalised feather weight (float32) of one image on a window.

    ``footprint``: where the image has valid pixels; ``region``: where its
    seamline polygon is (None: no seamlines, blend by edge distance alone);
    ``distance``: the blend distance in pixels (> 0).
    """
    if region is None:
        return _ramp(distance_inside(footprint), distance)
    edge = _ramp(distance_inside(footprint), distance / 2)
    signed = distance_inside(region) - distance_inside(~region)
    seam = np.clip(np.float32(0.5) + signed / np.float32(distance), 0, 1)
    return edge * (seam + np.float32(SEAM_FLOOR))
