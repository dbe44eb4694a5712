"""Tier 5, scale: one reader of files (:mod:`~attribution.scale.io`), batch scoring of files
larger than memory (:mod:`~attribution.scale.batch`) and Dask (:mod:`~attribution.scale.dask`).

Models are used only through their public protocol (docs/architecture.md).
"""
