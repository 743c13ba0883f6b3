"""Picklable operators and accumulators for the runner tests (imported by worker processes)."""

import os
import time

import numpy as np

from tessera.engine.raster_io import EDGE_NODATA


class Slow:
    """Copies band 1 and sleeps, so a run can be cancelled half way."""

    halo, edge = 0, EDGE_NODATA

    def __init__(self, seconds):
        self.seconds = seconds

    def __call__(self, blocks, window):
        time.sleep(self.seconds)
        return blocks[0].data[:1].astype(float), blocks[0].valid[:1]


class FailsAt:
    """Raises on the window whose top-left pixel is ``row, col``."""

    halo, edge = 0, EDGE_NODATA

    def __init__(self, row, col):
        self.row, self.col = row, col

    def __call__(self, blocks, window):
        if (window.row, window.col) == (self.row, self.col):
            raise ValueError("operator failed on purpose")
        return blocks[0].data[:1].astype(float), blocks[0].valid[:1]


class Dies:
    """Kills its worker process, as an out-of-memory kill would."""

    halo, edge = 0, EDGE_NODATA

    def __call__(self, blocks, window):
        os._exit(3)


class Sequence:
    """Records the window order it is merged in, and the float sum of band 1."""

    def __init__(self):
        self.order, self.total = [], 0.0

    def add(self, blocks, window):
        self.order.append((window.row, window.col))
        self.total += float(np.sum(blocks[0].data[0], where=blocks[0].valid[0]))

    def merge(self, other):
        self.order.extend(other.order)
        self.total += other.total

    def finalize(self):
        return self.order, self.total


class Pids:
    """Records the process ids its windows were read in."""

    def __init__(self):
        self.pids = {os.getpid()}

    def add(self, blocks, window):
        self.pids.add(os.getpid())

    def merge(self, other):
        self.pids |= other.pids

    def finalize(self):
        return self.pids


class LateFirst:
    """Copies every band, but the first window takes ``seconds`` longer than the others,
    so windows finish out of order."""

    halo, edge = 0, EDGE_NODATA

    def __init__(self, seconds):
        self.seconds = seconds

    def __call__(self, blocks, window):
        if (window.row, window.col) == (0, 0):
            time.sleep(self.seconds)
        return blocks[0].data.astype(float), blocks[0].valid
