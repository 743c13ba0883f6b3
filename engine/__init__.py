"""Tessera's raster engine: pure Python (numpy, rasterio, scipy, opencv, shapely).

Nothing in this package imports QGIS, so it runs in worker processes, on a
Dask cluster and in plain Python scripts alike.
"""
