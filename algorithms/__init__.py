"""Tessera's Processing algorithms: thin adapters from parameters to one engine call."""

from .bandmath import BandMath
from .focal_statistics import FocalStatistics
from .footprints import Footprints

ALGORITHMS = (BandMath, FocalStatistics, Footprints)
