"""Tessera's Processing algorithms: thin adapters from parameters to one engine call."""

from .bandmath import BandMath
from .focal_statistics import FocalStatistics
from .footprints import Footprints
from .global_regression import GlobalRegression
from .histogram_matching import HistogramMatching
from .lirrn import Lirrn
from .local_adjustment import LocalBlockAdjustment
from .normalization_report import NormalizationReport

ALGORITHMS = (BandMath, FocalStatistics, Footprints, GlobalRegression, LocalBlockAdjustment,
              HistogramMatching, Lirrn, NormalizationReport)
