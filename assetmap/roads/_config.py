"""The travel settings of ``config/roads.toml`` as one frozen, typed object."""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from assetmap._errors import ConfigError
from assetmap.settings import config_dir

__all__ = ["MODES", "RoadConfig", "load_road_config"]

MODES = ("walk", "drive")


@dataclass(frozen=True)
class RoadConfig:
    """Speeds by highway type, snapping limits and the straight-line fallback."""

    walk_kmh: float = 4.8
    walk_connector_kmh: float = 4.8
    walk_max_snap_km: float = 0.5
    walk_highways: frozenset[str] = frozenset()
    drive_connector_kmh: float = 15.0
    drive_max_snap_km: float = 1.0
    drive_speeds_kmh: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    circuity: float = 1.3
    estimate_walk_kmh: float = 4.8
    estimate_drive_kmh: float = 40.0
    reach_minutes_by_mode: Mapping[str, Mapping[str, float]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    decay_minutes: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({"walk": 15.0, "drive": 10.0})
    )

    def reach_minutes(self, mode: str, need: str) -> float:
        """Reach in minutes for a need code (its top level) in ``mode`` (default 20 walking,
        15 driving when the config gives none)."""
        table = self.reach_minutes_by_mode.get(mode, {})
        fallback = table.get("default", 20.0 if mode == "walk" else 15.0)
        return float(table.get(need.split(".")[0], fallback))

    def connector_kmh(self, mode: str) -> float:
        """Speed from a point to its nearest street for ``mode``."""
        return self.walk_connector_kmh if mode == "walk" else self.drive_connector_kmh

    def max_snap_km(self, mode: str) -> float:
        """Beyond this distance from the network a point's times are estimated."""
        return self.walk_max_snap_km if mode == "walk" else self.drive_max_snap_km

    def estimate_kmh(self, mode: str) -> float:
        """Straight-line fallback speed for ``mode``."""
        return self.estimate_walk_kmh if mode == "walk" else self.estimate_drive_kmh


def _positive(name: str, value: object) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"roads.toml: {name} must be a number, got {value!r}") from exc
    if not v > 0 or v != v or v == float("inf"):
        raise ConfigError(f"roads.toml: {name} must be a positive number, got {value!r}")
    return v


def load_road_config(path: Path | None = None) -> RoadConfig:
    """Read ``config/roads.toml`` (or ``path``); every problem is a :class:`ConfigError`."""
    path = path or config_dir() / "roads.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    walk, drive, est = raw.get("walk", {}), raw.get("drive", {}), raw.get("estimate", {})
    d = RoadConfig()
    speeds = {
        str(k): _positive(f"drive.speeds_kmh.{k}", v)
        for k, v in drive.get("speeds_kmh", {}).items()
    }
    circuity = _positive("estimate.circuity", est.get("circuity", d.circuity))
    if circuity < 1:
        raise ConfigError(f"roads.toml: estimate.circuity must be at least 1, got {circuity}")
    return RoadConfig(
        walk_kmh=_positive("walk.speed_kmh", walk.get("speed_kmh", d.walk_kmh)),
        walk_connector_kmh=_positive(
            "walk.connector_kmh", walk.get("connector_kmh", d.walk_connector_kmh)
        ),
        walk_max_snap_km=_positive("walk.max_snap_km", walk.get("max_snap_km", d.walk_max_snap_km)),
        walk_highways=frozenset(str(h) for h in walk.get("highways", [])),
        drive_connector_kmh=_positive(
            "drive.connector_kmh", drive.get("connector_kmh", d.drive_connector_kmh)
        ),
        drive_max_snap_km=_positive(
            "drive.max_snap_km", drive.get("max_snap_km", d.drive_max_snap_km)
        ),
        drive_speeds_kmh=MappingProxyType(speeds),
        circuity=circuity,
        estimate_walk_kmh=_positive("estimate.walk_kmh", est.get("walk_kmh", d.estimate_walk_kmh)),
        estimate_drive_kmh=_positive(
            "estimate.drive_kmh", est.get("drive_kmh", d.estimate_drive_kmh)
        ),
        decay_minutes=MappingProxyType(
            {
                **d.decay_minutes,
                **{
                    str(k): _positive(f"decay_minutes.{k}", v)
                    for k, v in raw.get("decay_minutes", {}).items()
                },
            }
        ),
        reach_minutes_by_mode=MappingProxyType(
            {
                str(m): MappingProxyType(
                    {str(k): _positive(f"reach_minutes.{m}.{k}", v) for k, v in t.items()}
                )
                for m, t in raw.get("reach_minutes", {}).items()
            }
        ),
    )


@functools.lru_cache(maxsize=1)
def road_config() -> RoadConfig:
    """The process-wide road settings (read once)."""
    return load_road_config()
