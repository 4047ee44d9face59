"""Domain exceptions of assetmap. Every error a user can cause derives from AssetmapError."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assetmap.report import ValidationReport

__all__ = [
    "AssetmapError",
    "InputError",
    "ConfigError",
    "GeocoderUnavailable",
    "StaleVersionError",
    "PermissionDenied",
    "DependencyMissing",
]


class AssetmapError(Exception):
    """Base class of every error assetmap raises on purpose."""


class InputError(AssetmapError):
    """A file or argument could not be used. Carries the validation report when there is one."""

    def __init__(self, message: str, report: ValidationReport | None = None) -> None:
        super().__init__(message)
        self.report = report


class ConfigError(AssetmapError):
    """A configuration file or environment override is invalid."""


class GeocoderUnavailable(AssetmapError):
    """A geocoding service could not be reached or refused the request."""


class StaleVersionError(AssetmapError):
    """An edit was based on an older version of a record than the stored one."""

    def __init__(self, message: str, *, current: dict | None = None) -> None:
        super().__init__(message)
        self.current = current or {}


class PermissionDenied(AssetmapError):
    """The current role may not see or do this."""


class DependencyMissing(AssetmapError):
    """An optional capability needs a library or system package that is not installed here;
    the message names what to install."""
