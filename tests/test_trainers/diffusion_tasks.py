"""Small synthetic tasks shared by the diffusion-trainer tests (imported by the ``test_diffusion_*`` files).

Importing this module also limits torch to one thread: the test machines are small and shared.
"""

from __future__ import annotations

import numpy as np
import torch

torch.set_num_threads(1)

#: the colours of :func:`coloured_squares`, as RGB channel indices
COLOURS = ("red", "green", "blue")


def coloured_squares(rows: int, size: int, seed: int) -> dict[str, np.ndarray]:
    """Black ``size``×``size`` RGB images holding one square of side ``size // 2`` in colour ``X``.

    Returns a table with ``X`` (int, 0=red, 1=green, 2=blue) and ``I`` (``(rows, 3, size, size)`` in [0, 1]).

    Examples
    --------
    >>> table = coloured_squares(2, 4, seed=0)
    >>> table["I"].shape, bool((colour_read_out(table["I"]) == table["X"]).all())
    ((2, 3, 4, 4), True)
    """
    generator = np.random.default_rng(seed)
    colours = generator.integers(0, len(COLOURS), rows)
    corners = generator.integers(0, size - size // 2 + 1, (rows, 2))
    images = np.zeros((rows, 3, size, size), dtype=np.float32)
    side = size // 2
    for row, (colour, (top, left)) in enumerate(zip(colours, corners, strict=True)):
        images[row, colour, top : top + side, left : left + side] = 1.0
    return {"X": colours, "I": images}


def colour_read_out(images: np.ndarray) -> np.ndarray:
    """The colour of each image: the channel with the largest mean."""
    return images.mean(axis=(2, 3)).argmax(axis=1)


def total_variation(samples: np.ndarray, probabilities: np.ndarray) -> float:
    """Total variation distance between the empirical distribution of ``samples`` (0..K-1) and ``probabilities``."""
    empirical = np.bincount(samples, minlength=len(probabilities)) / len(samples)
    return 0.5 * float(np.abs(empirical - probabilities).sum())
