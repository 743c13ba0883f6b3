"""Tessera's Processing algorithms: thin adapters from parameters to one engine call."""

from .align_rasters import AlignRasters
from .bandmath import BandMath
from .focal_statistics import FocalStatistics
from .footprints import Footprints
from .global_regression import GlobalRegression
from .histogram_matching import HistogramMatching
from .lirrn import Lirrn
from .local_adjustment import LocalBlockAdjustment
from .mask_rasters import MaskRasters
from .merge_vectors import MergeVectors
from .mosaic import Mosaic
from .normalization_report import NormalizationReport
from .seamlines import Seamlines
from .filter import Filter
from .category_maps import CategoryMaps
from .entropy import Entropy
from .interaction import Interaction

ALGORITHMS = (BandMath, FocalStatistics, Footprints, GlobalRegression, LocalBlockAdjustment,
              HistogramMatching, Lirrn, NormalizationReport, Mosaic,
              MaskRasters, MergeVectors, AlignRasters, Seamlines, Filter,
              CategoryMaps, Entropy, Interaction)
