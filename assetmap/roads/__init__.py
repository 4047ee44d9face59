"""Travel time on an OpenStreetMap street network: import, walk/drive graphs, minutes.

>>> from assetmap.roads import estimate_minutes
>>> round(float(estimate_minutes(1.0, "walk")), 1)  # 1 km by air, no network imported
16.2
"""

from assetmap.roads._config import MODES, RoadConfig, load_road_config, road_config
from assetmap.roads._graph import RoadNetwork, build_network, load_network, roads_path
from assetmap.roads._osm import read_ways
from assetmap.roads._reach import (
    TRAVEL_GAP_COLUMNS,
    accessibility_in_minutes,
    gaps_in_minutes,
    use_travel_time,
    with_travel_columns,
)
from assetmap.roads._travel import check_mode, estimate_minutes, reach_pairs, travel_minutes

__all__ = [
    "MODES",
    "TRAVEL_GAP_COLUMNS",
    "accessibility_in_minutes",
    "gaps_in_minutes",
    "RoadConfig",
    "RoadNetwork",
    "build_network",
    "check_mode",
    "estimate_minutes",
    "import_osm",
    "load_network",
    "load_road_config",
    "reach_pairs",
    "read_ways",
    "road_config",
    "roads_path",
    "travel_minutes",
    "use_travel_time",
    "with_travel_columns",
]


def import_osm(path, *, config: RoadConfig | None = None, progress=None) -> RoadNetwork:
    """Read an OSM extract (.osm.pbf or .osm) and build its walk and drive graphs."""
    return build_network(read_ways(path, progress=progress), config=config, source=str(path))
