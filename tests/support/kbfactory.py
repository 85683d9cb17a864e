"""Build small knowledge bases for unit tests, through the real loader."""
from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from bot import kb

VALID = Path(__file__).resolve().parents[1] / "fixtures" / "kb_valid"


def entry(eid: str, question: str, alternates: list[str], **extra) -> dict:
    topic = eid.split("-")[0]
    data = {
        "id": eid, "question": question, "alternates": alternates,
        "answer": f"Fixture answer for {eid}.",
        "script": {"say": f"Fixture script for {eid}.", "ask": ["Which sector are you in?"]},
        "refer": ["sample-org"],
        "sources": [{"title": "Fixture", "url": "https://www.gov.uk/", "date": "2025"}],
        "last_reviewed": "2026-11-01", "review_due": "2099-01-01", "owner": f"{topic}-lead",
    }
    data.update(extra)
    return data


def build(tmp_path: Path, entries: list[dict], lexicon: list[list[str]] | None = None) -> kb.KnowledgeBase:
    """The valid fixture plus ``entries`` added to their topic files."""
    target = tmp_path / "kb"
    if not target.exists():
        shutil.copytree(VALID, target)
    for e in entries:
        topic = e["id"].split("-")[0]
        path = target / f"{topic}.yml"
        data = yaml.safe_load(path.read_text())
        data["entries"].append(e)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    if lexicon:
        (target / "lexicon.yml").write_text(yaml.safe_dump({"terms": lexicon}))
    return kb.load(target)


PENSION_ENTRIES = [
    entry("pensions-lgps-keep", "Can I stay in the Local Government Pension Scheme after a spin-out?",
          ["keep lgps after spin out", "council pension when we leave", "lgps admission body mutual",
           "do council staff keep their pension"],
          applies_to={"sectors": ["local_government"], "schemes": ["lgps"]}),
    entry("pensions-civil-service-keep", "Can civil servants keep the civil service pension after a spin-out?",
          ["civil service pension spin out", "pcsps fair deal", "alpha pension after leaving department",
           "civil servants pension mutual"],
          applies_to={"sectors": ["civil_service"], "schemes": ["pcsps"]}),
    entry("pensions-exit-debt", "What is an LGPS exit debt?",
          ["cessation valuation lgps", "exit payment pension fund", "lgps cessation debt", "leaving the fund debt"],
          applies_to={"schemes": ["lgps"], "nations": ["england", "wales"]}),
]
LEXICON = [["lgps", "local government pension scheme", "council pension"],
           ["nhsps", "nhs pension scheme", "nhs pension"], ["pension", "pensions", "pensoin"]]
