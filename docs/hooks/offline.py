"""The site works offline, from a folder: no script, style or font comes from the web.

Material's ``offline`` plug-in makes search work from ``file://`` with a small Web Worker shim that it
would load from a CDN; ``mkdocs.yml`` names a local copy instead (``extra.polyfills``), and this hook
adds it to the site from the pinned npm package ``iframe-worker`` (MIT, ``package.json``; installed
by ``make node-deps``). ``tests/docs/test_site.py`` checks the built pages for outside URLs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SHIM = REPO / "node_modules" / "iframe-worker" / "shim" / "index.js"
SITE_PATH = "assets/javascripts/iframe-worker-shim.js"

log = logging.getLogger("mkdocs.hooks.offline")


def on_files(files: Any, config: Any) -> Any:
    """Add the Web Worker shim that search needs on ``file://``."""
    from mkdocs.structure.files import File

    if SITE_PATH not in config.extra.get("polyfills", []):
        log.warning(
            f"mkdocs.yml: extra.polyfills must name {SITE_PATH} (or search loads a shim from the web)"
        )
    if not SHIM.is_file():
        log.warning(f"{SHIM} is missing: run `make node-deps` (npm ci) for the search shim")
        return files
    files.append(File.generated(config, SITE_PATH, content=SHIM.read_bytes()))
    return files
