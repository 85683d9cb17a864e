"""GOV.UK Frontend, served from node_modules (installed by scripts/setup.sh): no CDN.

The precompiled stylesheet refers to ``/assets/fonts`` and ``/assets/images``, so the
package's ``dist/govuk/assets`` folder is served at ``/assets/``. The GDS Transport font is
licensed for services on GOV.UK only, so by default its ``@font-face`` rules are taken out
of the stylesheet and text falls back to Arial, as the Design System asks of services
elsewhere; set ``MUTUALS_GOVUK_FONT=1`` for a service on a service.gov.uk domain.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from aiohttp import web

from ..settings import ROOT

NODE_MODULES = Path(os.environ.get("MUTUALS_NODE_MODULES", ROOT / "node_modules"))
GOVUK = NODE_MODULES / "govuk-frontend" / "dist" / "govuk"
_FONT_FACE = re.compile(r"@font-face\{[^}]*\}")
CACHE = "public, max-age=3600"


class MissingAssets(RuntimeError):
    """node_modules is not installed: the pages would have no styles."""


def check() -> Path:
    if not (GOVUK / "govuk-frontend.min.css").is_file():
        raise MissingAssets(f"{GOVUK} is missing: run `make setup` (it runs `npm ci`) first")
    return GOVUK


def stylesheet(use_font: bool | None = None) -> bytes:
    css = (check() / "govuk-frontend.min.css").read_text(encoding="utf-8")
    if use_font is None:
        use_font = os.environ.get("MUTUALS_GOVUK_FONT") == "1"
    if not use_font:
        css = _FONT_FACE.sub("", css)
        css = css.replace("/*# sourceMappingURL=govuk-frontend.min.css.map */", "")
    return css.encode("utf-8")


def add_routes(app: web.Application) -> None:
    """/assets/govuk-frontend.min.css, /assets/govuk-frontend.min.js and /assets/{fonts,images}/..."""
    root = check()
    css = stylesheet()
    js = (root / "govuk-frontend.min.js").read_bytes()

    async def get_css(request: web.Request) -> web.Response:
        return web.Response(body=css, content_type="text/css", charset="utf-8", headers={"Cache-Control": CACHE})

    async def get_js(request: web.Request) -> web.Response:
        return web.Response(body=js, content_type="text/javascript", charset="utf-8",
                            headers={"Cache-Control": CACHE})

    app.router.add_get("/assets/govuk-frontend.min.css", get_css)
    app.router.add_get("/assets/govuk-frontend.min.js", get_js)
    map_file = root / "govuk-frontend.min.js.map"

    async def get_map(request: web.Request) -> web.FileResponse:
        return web.FileResponse(map_file)

    app.router.add_get("/assets/govuk-frontend.min.js.map", get_map)
    app.router.add_static("/assets/", root / "assets")
