"""The shipped Connecticut data in ``data/`` (the app's embedded default).

Files (built by ``scripts/build_data.py`` from public sources; see ``data/README.md``):

- ``ct/partners.geojson``  canonical Partners (list columns ``;``-joined)
- ``ct/schools.geojson``   public schools (points)
- ``ct/towns.geojson``, ``ct/districts.geojson``  boundaries
- ``ct/gazetteer.csv``     town / village / ZIP centroids: name, kind, town, zip, lat, lon
- ``ct/survey_synthetic.csv``  SYNTHETIC family survey, response level (DOMAIN.md §2)
"""

from __future__ import annotations

import functools
from pathlib import Path

import geopandas as gpd
import pandas as pd

from assetmap.model import conform_partners
from assetmap.settings import get_settings

__all__ = [
    "data_path",
    "load_partners",
    "load_schools",
    "load_towns",
    "load_districts",
    "load_gazetteer",
    "survey_path",
]


def data_path(name: str) -> Path:
    """Path of a shipped data file (``ct/partners.geojson`` …) under the data folder."""
    return Path(get_settings().data_dir) / name


@functools.lru_cache(maxsize=2)
def _read(name: str) -> gpd.GeoDataFrame:
    return gpd.read_file(data_path(name), engine="pyogrio")


def load_partners() -> gpd.GeoDataFrame:
    """The shipped partners, canonical (a fresh copy each call)."""
    return conform_partners(_read("ct/partners.geojson"))


def load_schools() -> gpd.GeoDataFrame:
    """Shipped public schools (points, EPSG:4326); ids as text."""
    gdf = _read("ct/schools.geojson").copy()
    for col in ("school_id", "district_id"):
        if col in gdf.columns:
            gdf[col] = gdf[col].astype("string").astype(object)
    return gdf


def load_towns() -> gpd.GeoDataFrame:
    return _read("ct/towns.geojson").copy()


def load_districts() -> gpd.GeoDataFrame:
    return _read("ct/districts.geojson").copy()


@functools.lru_cache(maxsize=1)
def _gazetteer() -> pd.DataFrame:
    return pd.read_csv(data_path("ct/gazetteer.csv"), dtype={"zip": str, "name": str})


def load_gazetteer() -> pd.DataFrame:
    """Town, village and ZIP centroids: columns name, kind (town/village/zip), town, zip, lat, lon."""
    return _gazetteer().copy()


def survey_path() -> Path:
    """The shipped SYNTHETIC family survey (response level)."""
    return data_path("ct/survey_synthetic.csv")
