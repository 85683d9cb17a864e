"""Server-rendered pages: the GOV.UK page template, filled with escaped values only.

Templates are plain HTML files in ``templates/`` with ``$name`` placeholders
(``string.Template``). Every value is HTML-escaped here unless it is an ``Html`` fragment
built by this module from escaped parts, so nothing a user typed can become markup.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Iterable

from aiohttp import web

TEMPLATES = Path(__file__).parent / "templates"


class Html(str):
    """A fragment already escaped (built by ``tag``/``join`` or read from a template)."""


def esc(value: object) -> Html:
    return value if isinstance(value, Html) else Html(html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[object], sep: str = "") -> Html:
    return Html(sep.join(esc(p) for p in parts))


@lru_cache(maxsize=None)
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def fill(name: str, **values: object) -> Html:
    """A template with every placeholder replaced; a missing value is a bug, so it raises."""
    return Html(_template(name).substitute({k: esc(v) for k, v in values.items()}))


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    current: bool = False


def nav_html(items: Iterable[NavItem], end: Html = Html("")) -> Html:
    """The service navigation's menu; collapses behind a "Menu" button on small screens."""
    items = list(items)
    if not items and not end:
        return Html("")
    out = []
    for item in items:
        label = esc(item.label)
        if item.current:
            out.append(f'<li class="govuk-service-navigation__item govuk-service-navigation__item--active">'
                       f'<a class="govuk-service-navigation__link" href="{esc(item.href)}" aria-current="page">'
                       f'<strong class="govuk-service-navigation__active-fallback">{label}</strong></a></li>')
        else:
            out.append(f'<li class="govuk-service-navigation__item">'
                       f'<a class="govuk-service-navigation__link" href="{esc(item.href)}">{label}</a></li>')
    if end:
        out.append(f'<li class="govuk-service-navigation__item">{end}</li>')
    toggle = ('<button type="button" class="govuk-service-navigation__toggle govuk-js-service-navigation-toggle" '
              'aria-controls="navigation" hidden aria-hidden="true">Menu</button>') if len(out) > 1 else ""
    return Html(f'<nav aria-label="Menu" class="govuk-service-navigation__wrapper">{toggle}'
                f'<ul class="govuk-service-navigation__list" id="navigation">{"".join(out)}</ul></nav>')


def page(title: str, content: Html, *, service_url: str = "/", service_name: str = "Mutuals information line",
         nav: Iterable[NavItem] = (), scripts: Iterable[str] = (), styles: Iterable[str] = ("/static/app.css",),
         nav_end: Html = Html(""),
         footer_links: Iterable[NavItem] = (NavItem("/privacy", "Privacy notice"),),
         status: int = 200, main_attrs: Html = Html("")) -> web.Response:
    """A whole page in the GOV.UK template (service navigation, skip link, footer)."""
    script_tags = "".join(
        f'<script type="module" src="{esc(s)}"></script>' if s.endswith(".mjs")
        else f'<script src="{esc(s)}" defer></script>' for s in scripts)
    footer = "".join(f'<li class="govuk-footer__inline-list-item"><a class="govuk-footer__link" href="{esc(i.href)}">'
                     f'{esc(i.label)}</a></li>' for i in footer_links)
    body = fill(
        "layout.html",
        title=title,
        styles=Html("".join(f'<link rel="stylesheet" href="{esc(s)}">' for s in styles)),
        service_url=service_url,
        service_name=service_name,
        nav=nav_html(nav, nav_end),
        content=content,
        scripts=Html(script_tags),
        footer_links=Html(footer),
        main_attrs=main_attrs,
    )
    return web.Response(text=body, content_type="text/html", charset="utf-8", status=status,
                        headers={"Cache-Control": "no-store"})
