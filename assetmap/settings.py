"""One frozen, typed settings object from ``config/settings.toml`` with ``ASSETMAP_*`` overrides.

Every field can be overridden by the environment variable ``ASSETMAP_<FIELD>`` (upper case),
e.g. ``ASSETMAP_MIN_CELL=10`` or ``ASSETMAP_CENSUS_GEOCODER_URL=http://127.0.0.1:8080``.
Per-need reach: ``ASSETMAP_REACH_KM__FOOD=3``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, get_type_hints

from assetmap._errors import ConfigError

__all__ = ["Settings", "get_settings", "load_settings", "project_root", "config_dir"]

# Connecticut CSDE floor: never suppress less than this.
STATE_MIN_CELL = 6
STATE_MIN_DENOMINATOR = 20


def project_root() -> Path:
    """The folder holding ``config/`` and ``data/`` (the repository checkout)."""
    return Path(__file__).resolve().parent.parent


def config_dir() -> Path:
    """``config/`` of the project, or ``ASSETMAP_CONFIG_DIR``."""
    return Path(os.environ.get("ASSETMAP_CONFIG_DIR") or project_root() / "config")


@dataclass(frozen=True)
class Settings:
    """All tunable values. Build with :func:`get_settings` (cached) or :func:`load_settings`."""

    region: str = "Connecticut"
    default_center: tuple[float, float] = (41.6032, -73.0877)
    data_dir: Path = field(default_factory=lambda: project_root() / "data")
    default_reach_km: float = 8.0
    reach_km: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    min_cell: int = STATE_MIN_CELL
    min_denominator: int = STATE_MIN_DENOMINATOR
    weight_distance: float = 0.35
    weight_language: float = 0.35
    weight_capacity: float = 0.10
    weight_verified: float = 0.10
    weight_mou: float = 0.10
    distance_decay_km: float = 5.0
    lead_partner_load_warning: int = 5
    geocode_providers: tuple[str, ...] = ("census", "nominatim", "gazetteer")
    census_geocoder_url: str = "https://geocoding.geo.census.gov"
    nominatim_url: str = "https://nominatim.openstreetmap.org"
    user_agent: str = "assetmap/0.1"
    contact_email: str = ""
    geocode_timeout_s: float = 30.0
    geocode_batch_timeout_s: float = 300.0
    geocode_retries: int = 3
    geocode_backoff_s: float = 1.0
    census_batch_size: int = 1000
    nominatim_min_interval_s: float = 1.0
    geocode_cache_path: Path = field(
        default_factory=lambda: project_root() / "var" / "geocode_cache.sqlite"
    )
    store_url: str = ""
    stale_after_days: int = 365
    #: a source layer (its ``as_of`` date) older than this is shown as stale
    source_stale_after_days: int = 1826
    #: unit of distances shown to people: "mi" (default) or "km"; km stays the internal unit
    distance_unit: str = "mi"
    max_upload_mb: int = 25
    download_expiry_s: float = 10.0
    map_tiles: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    map_attribution: str = (
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
    )

    def reach_for(self, need: str) -> float:
        """Reach in km for a need code (its top level), or the default reach."""
        return float(self.reach_km.get(need.split(".")[0], self.default_reach_km))

    @property
    def max_reach_km(self) -> float:
        return max([self.default_reach_km, *self.reach_km.values()])

    @property
    def store_location(self) -> str:
        """The store URL or GeoPackage path actually used."""
        return self.store_url or str(project_root() / "var" / "assetmap.gpkg")


# (section, key in toml) -> field name
_TOML_KEYS: dict[tuple[str, str], str] = {
    ("", "region"): "region",
    ("", "default_center"): "default_center",
    ("", "data_dir"): "data_dir",
    ("", "default_reach_km"): "default_reach_km",
    ("privacy", "min_cell"): "min_cell",
    ("privacy", "min_denominator"): "min_denominator",
    ("matching", "weight_distance"): "weight_distance",
    ("matching", "weight_language"): "weight_language",
    ("matching", "weight_capacity"): "weight_capacity",
    ("matching", "weight_verified"): "weight_verified",
    ("matching", "weight_mou"): "weight_mou",
    ("matching", "distance_decay_km"): "distance_decay_km",
    ("matching", "lead_partner_load_warning"): "lead_partner_load_warning",
    ("geocoding", "providers"): "geocode_providers",
    ("geocoding", "census_geocoder_url"): "census_geocoder_url",
    ("geocoding", "nominatim_url"): "nominatim_url",
    ("geocoding", "user_agent"): "user_agent",
    ("geocoding", "contact_email"): "contact_email",
    ("geocoding", "timeout_s"): "geocode_timeout_s",
    ("geocoding", "batch_timeout_s"): "geocode_batch_timeout_s",
    ("geocoding", "retries"): "geocode_retries",
    ("geocoding", "backoff_s"): "geocode_backoff_s",
    ("geocoding", "census_batch_size"): "census_batch_size",
    ("geocoding", "nominatim_min_interval_s"): "nominatim_min_interval_s",
    ("geocoding", "cache_path"): "geocode_cache_path",
    ("store", "url"): "store_url",
    ("store", "stale_after_days"): "stale_after_days",
    ("store", "source_stale_after_days"): "source_stale_after_days",
    ("", "distance_unit"): "distance_unit",
    ("app", "max_upload_mb"): "max_upload_mb",
    ("app", "download_expiry_s"): "download_expiry_s",
    ("maps", "tiles"): "map_tiles",
    ("maps", "attribution"): "map_attribution",
}


def _coerce(name: str, value: Any, typ: Any) -> Any:
    text = str(typ)
    try:
        if typ is Path or "Path" in text:
            return Path(value).expanduser() if str(value) else None
        if typ is float or text == "float":
            return float(value)
        if typ is int or text == "int":
            return int(value)
        if "tuple[float" in text:
            parts = value.split(",") if isinstance(value, str) else value
            return tuple(float(p) for p in parts)
        if "tuple[str" in text:
            parts = value.split(",") if isinstance(value, str) else value
            return tuple(str(p).strip() for p in parts if str(p).strip())
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r}: cannot use {value!r} ({exc})") from exc


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from ``path`` (default ``config/settings.toml``), then apply ``env``."""
    env = os.environ if env is None else env
    path = path or config_dir() / "settings.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    hints = get_type_hints(Settings)
    values: dict[str, Any] = {}
    for (section, key), name in _TOML_KEYS.items():
        table = raw if not section else raw.get(section, {})
        if key in table:
            v = _coerce(name, table[key], hints[name])
            if v is not None:
                values[name] = v
    reach = {str(k): float(v) for k, v in raw.get("reach_km", {}).items()}
    for fld in dataclasses.fields(Settings):
        var = f"ASSETMAP_{fld.name.upper()}"
        if var in env and fld.name != "reach_km":
            v = _coerce(fld.name, env[var], hints[fld.name])
            if v is not None:
                values[fld.name] = v
    for var, val in env.items():
        if var.startswith("ASSETMAP_REACH_KM__"):
            reach[var.removeprefix("ASSETMAP_REACH_KM__").lower()] = _coerce(var, val, float)
    values["reach_km"] = MappingProxyType(reach)
    settings = Settings(**values)
    if settings.min_cell < STATE_MIN_CELL or settings.min_denominator < STATE_MIN_DENOMINATOR:
        raise ConfigError(
            f"min_cell={settings.min_cell}, min_denominator={settings.min_denominator}: the small-cell "
            f"threshold may be raised but never set below the Connecticut rule "
            f"(min_cell {STATE_MIN_CELL}, min_denominator {STATE_MIN_DENOMINATOR})."
        )
    if settings.distance_unit not in ("mi", "km"):
        raise ConfigError(
            f"distance_unit={settings.distance_unit!r}: use 'mi' (miles) or 'km' (kilometres)"
        )
    return settings


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once; call ``get_settings.cache_clear()`` in tests)."""
    return load_settings()
