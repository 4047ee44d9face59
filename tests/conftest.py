"""Test-session set-up shared by every test module.

The default workspace (``settings.store_location``) is seeded with the shipped data on first
use. Tests must never write the developer's ``var/assetmap.gpkg``, and parallel workers must
not seed one file at once: each test process gets its own default workspace in a temporary
folder (a test that sets ``ASSETMAP_STORE_URL`` itself still wins).
"""

from __future__ import annotations

import os
import tempfile

if not os.environ.get("ASSETMAP_STORE_URL"):
    _DIR = tempfile.mkdtemp(prefix="assetmap-tests-")
    os.environ["ASSETMAP_STORE_URL"] = os.path.join(_DIR, "default.gpkg")
