"""The pure parts of the review core, without the assistant: text edits of topic files, YAML
scalars, the derived conversation state, saved-filter round trips and similarity grouping."""
from __future__ import annotations

import datetime as dt
import shutil

import pytest
import yaml

from bot import kb, settings
from bot.review import insights, marks, proposals
from bot.review.inbox import Filters

TRICKY = ["yes", "no", "null", "123", "1.5", "- starts with a dash", "has: a colon", "ends with colon:",
          "hash # inside", "#starts with hash", "'quoted'", '"double"', "[brackets]", "{braces}", "a, b",
          "what's a TUPE 'measure'?", "ünïcödé pension", "@at start", "% percent", "tab\tinside", "2026-11-23",
          "~", "? question mark first", "!bang", "&anchor", "*alias", "|pipe", ">fold"]


@pytest.mark.parametrize("text", TRICKY)
def test_yaml_scalar_reads_back_the_same_text(text):
    line = f"- {proposals.yaml_scalar(text)}"
    assert yaml.safe_load(line) == [proposals.clean(text)]


SOURCE = """topic: tupe
entries:
  # first entry
  - id: tupe-one
    question: One?
    alternates:
    - same indent as the key
    - "quoted item"   # a comment
    - >
      a folded item
      over two lines

    answer: >
      text
  - id: tupe-two   # trailing comment
    question: Two?
    alternates:
      - two a
      - two b
    answer: x
"""


@pytest.mark.parametrize("entry_id,indent", [("tupe-one", "    "), ("tupe-two", "      ")])
def test_insert_alternate_adds_one_line_at_the_end_of_the_list(entry_id, indent):
    new = proposals.insert_alternate(SOURCE, entry_id, "has: a colon")
    added = [line for line in new.splitlines() if line not in SOURCE.splitlines()]
    assert added == [f'{indent}- "has: a colon"']
    before, after = yaml.safe_load(SOURCE), yaml.safe_load(new)
    for old_e, new_e in zip(before["entries"], after["entries"]):
        if old_e["id"] == entry_id:
            assert new_e["alternates"] == old_e["alternates"] + ["has: a colon"]
            assert {k: v for k, v in new_e.items() if k != "alternates"} == {k: v for k, v in old_e.items() if k != "alternates"}
        else:
            assert new_e == old_e
    assert "# first entry" in new and "# a comment" in new and "# trailing comment" in new


def test_insert_alternate_refuses_what_it_cannot_edit_safely():
    with pytest.raises(proposals.ProposalError, match="not found"):
        proposals.insert_alternate(SOURCE, "tupe-three", "x")
    flow = "topic: tupe\nentries:\n  - id: tupe-one\n    alternates: [a, b]\n"
    with pytest.raises(proposals.ProposalError, match="block-style"):
        proposals.insert_alternate(flow, "tupe-one", "x")


def test_drafted_entry_renders_in_the_faq_layout_and_round_trips(tmp_path):
    faq = tmp_path / "faq"
    shutil.copytree(settings.FAQ_DIR, faq)
    draft = proposals.draft_entry("tupe", "Does TUPE: apply to 'bank' staff", today=dt.date(2026, 11, 23))
    assert draft["id"] == "tupe-does-tupe-apply-to-bank-staff" and draft["review_due"] == dt.date(2027, 5, 23)
    assert proposals._todos(draft)
    org = next(iter(kb.load(faq).organisations))
    draft.update({"alternates": ["does tupe apply to bank staff", "bank staff and tupe", "zero hours staff tupe",
                                 "casual workers tupe transfer"],
                  "answer": "A long answer " * 30, "script": {"say": "Say this.", "ask": ["Ask: this?"]},
                  "refer": [org], "applies_to": {"nations": ["england", "wales"], "sectors": []},
                  "sources": [{"title": "Acas: TUPE", "url": "https://www.acas.org.uk/tupe", "date": "n.d."}]})
    data = {"kind": "new_entry", "topic": "tupe", "entry": draft}
    target, old, new = proposals.plan(data, faq)
    assert new.startswith(old) and target.name == "tupe.yml"
    target.write_text(new)
    _, problems = kb.validate(faq)
    assert not kb.iter_errors(problems)
    entry = kb.load(faq).entries[draft["id"]]
    assert entry.applies_to == {"nations": ("england", "wales")} and entry.question == draft["question"]


def test_conversation_state_is_derived_from_its_turns():
    assert marks.derive_state(None, {}, 3) == "new"
    assert marks.derive_state(None, {0: "done"}, 3) == "new"
    assert marks.derive_state(None, {0: "done", 1: "needs_expert"}, 3) == "needs_expert"
    assert marks.derive_state(None, {0: "done", 1: "ignored", 2: "done"}, 3) == "done"
    assert marks.derive_state(None, {0: "ignored", 1: "ignored"}, 2) == "ignored"
    assert marks.derive_state("new", {0: "needs_expert"}, 1) == "new"


def test_filters_round_trip_and_reject_unknown_fields():
    f = Filters(since="2026-11-01", topic="pensions", thumbs_down=True, low_score=35.0, text="lgps")
    import json

    assert Filters.from_dict(json.loads(f.to_json())) == f
    with pytest.raises(ValueError, match="unknown filter"):
        Filters.from_dict({"colour": "red"})
    with pytest.raises(ValueError, match="unknown outcome"):
        Filters(outcome="maybe").check()


def test_unanswered_questions_group_by_similarity():
    items = [("what colour should our logo be", "a"), ("What colour should the logo be?", "b"),
             ("what colour should our logo be", "c"), ("which font for letters", "d")]
    groups = insights.group_similar(items)
    assert [(g.text, g.count) for g in groups] == [("what colour should our logo be", 3), ("which font for letters", 1)]
    assert groups[0].conversations == ["a", "b", "c"]
