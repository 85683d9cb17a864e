"""Browser tests: the real assistant (tests/support/stack.py) driven in Debian's headless
Chromium by Playwright, with an axe-core accessibility scan, reflow checks (320 px wide and
200% zoom) and screenshots of every page and state.

Outputs (git-ignored): tests/output/screenshots/<page>-<state>-{desktop,320,zoom200}.png and
tests/output/axe/<page>-<state>.json, plus tests/output/axe-summary.json for the whole run.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support.assistant import ROOT
from tests.support.stack import Stack

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = {"serious", "critical"}
OUTPUT = ROOT / "tests" / "output"
SHOTS = OUTPUT / "screenshots"
AXE_OUT = OUTPUT / "axe"
DESKTOP = {"width": 1280, "height": 900}
NARROW = {"width": 320, "height": 720}
ZOOM_200 = {"width": 640, "height": 450}  # a 1280 px window at 200% zoom lays out like this

SUMMARY: dict[str, dict[str, Any]] = {}
# Chromium logs every 4xx response as a console error; these are answers the pages expect
# (a form with errors, a console that is signed out or switched off).
EXPECTED_STATUS = re.compile(r"Failed to load resource: the server responded with a status of (401|403|422|429) ")


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001 - pytest hook
    if not SUMMARY:
        return
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "axe-summary.json").write_text(json.dumps(SUMMARY, indent=2, sort_keys=True))
    tr = terminalreporter
    tr.section("axe-core accessibility scan (WCAG 2.2 AA tags)")
    for state, item in sorted(SUMMARY.items()):
        counts = ", ".join(f"{k} {v}" for k, v in sorted(item["by_impact"].items())) or "no violations"
        tr.write_line(f"{state:<34} {counts}")
    total = Counter()
    for item in SUMMARY.values():
        total.update(item["by_impact"])
    tr.write_line(f"{len(SUMMARY)} page states scanned at 1280 and 320 px; violations by impact: "
                  f"{dict(total) or 'none'}; results in {AXE_OUT.relative_to(ROOT)}/")


# One stack for all browser tests, stopped when they are done (it holds about 1 GB).
@pytest.fixture(scope="package")
def stack(model) -> Iterator[Stack]:
    s = Stack(model).start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def output_dirs() -> None:
    """Fresh screenshot and axe folders for this run."""
    shutil.rmtree(SHOTS, ignore_errors=True)
    shutil.rmtree(AXE_OUT, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    AXE_OUT.mkdir(parents=True)


# Per module, not per session: Playwright's sync API keeps its event loop marked as running
# in this thread until it stops, and the other tests' asyncio.run() would refuse to start.
@pytest.fixture(scope="module")
def browser(output_dirs) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make setup` (it installs Debian's chromium)")
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make setup` (it runs npm ci)")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield b
    b.close()
    pw.stop()


class Watch:
    """What a page did that it should not: script errors, console errors, alert() dialogs."""

    def __init__(self, page: Any):
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.allowed: tuple[str, ...] = ()
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("console", lambda msg: self.errors.append(f"console: {msg.text}") if msg.type == "error" else None)
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def problems(self) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in self.allowed) and not EXPECTED_STATUS.search(e)] + \
            [f"dialog: {d}" for d in self.dialogs]


@pytest.fixture
def new_page(browser) -> Iterator[Any]:
    """Pages in a fresh browser context each (their own cookies and storage)."""
    contexts: list[Any] = []
    watches: list[Watch] = []

    def make(**options: Any) -> Any:
        ctx = browser.new_context(viewport=DESKTOP, locale="en-GB", **options)
        ctx.set_default_timeout(20_000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.watch = Watch(page)
        watches.append(page.watch)
        return page

    yield make
    problems = [p for w in watches for p in w.problems()]
    for ctx in contexts:
        ctx.close()
    assert not problems, f"the page reported errors: {problems}"


def run_axe(page: Any) -> dict[str, Any]:
    """axe-core in the page (evaluated over CDP, so the page's CSP needs no exception)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    return page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
                         AXE_TAGS)


def no_horizontal_scroll(page: Any) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")


def check(page: Any, state: str) -> None:
    """Scan, measure and photograph the page as it is now, at desktop, 320 px and 200% zoom.

    Fails on a serious or critical axe violation, or on horizontal scrolling when narrow.
    """
    found: dict[str, Any] = {"by_impact": Counter(), "violations": []}
    failures = []
    for label, size in (("desktop", DESKTOP), ("320", NARROW), ("zoom200", ZOOM_200)):
        page.set_viewport_size(size)
        page.wait_for_timeout(100)
        page.screenshot(path=str(SHOTS / f"{state}-{label}.png"), full_page=True)
        if label != "desktop" and not no_horizontal_scroll(page):
            width = page.evaluate("() => document.documentElement.scrollWidth")
            failures.append(f"{label}: scrolls sideways ({width} px wide)")
        if label == "zoom200":
            continue
        result = run_axe(page)
        for v in result["violations"]:
            found["violations"].append({"at": label, "id": v["id"], "impact": v["impact"], "help": v["help"],
                                        "targets": [n["target"] for n in v["nodes"]][:10]})
            found["by_impact"][v["impact"] or "unknown"] += 1
            if v["impact"] in BLOCKING:
                failures.append(f"{label}: axe {v['impact']} {v['id']}: {v['help']} at "
                                f"{[n['target'] for n in v['nodes']][:5]}")
    page.set_viewport_size(DESKTOP)
    found["by_impact"] = dict(found["by_impact"])
    SUMMARY[state] = found
    (AXE_OUT / f"{state}.json").write_text(json.dumps(found, indent=2))
    assert not failures, f"{state}: " + "; ".join(failures)
