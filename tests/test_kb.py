"""Knowledge-base loader and checks: the real faq/ passes; each kind of fault is caught with
its file, entry id and field."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot import kb
from bot.kb import TOPICS

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"

# fault file -> (file, entry id, field) the error must name; None for a warning-only fault.
EXPECTED = {
    "duplicate_id__tupe.yml": ("kb/tupe.yml", "tupe-sample", "id"),
    "unknown_referral__tupe.yml": ("kb/tupe.yml", "tupe-sample", "refer"),
    "missing_source__tupe.yml": ("kb/tupe.yml", "tupe-sample", "sources"),
    "malformed_date__tupe.yml": ("kb/tupe.yml", "tupe-sample", "last_reviewed"),
    "invalid_yaml__finance.yml": ("kb/finance.yml", "", ""),
    "missing_answer__finance.yml": ("kb/finance.yml", "finance-sample", "answer"),
    "too_few_alternates__finance.yml": ("kb/finance.yml", "finance-sample", "alternates"),
    "unknown_applies_to__governance.yml": ("kb/governance.yml", "governance-sample", "applies_to.legal_forms"),
    "bad_source_date__governance.yml": ("kb/governance.yml", "governance-sample", "sources[0].date"),
    "near_duplicate_question__process.yml": ("kb/process.yml", "process-sample-two", "question"),
    "answer_too_long__process.yml": ("kb/process.yml", "process-sample", "answer"),
    "overdue_review__tupe.yml": None,
    "clashing_off_topic__out_of_scope.yml": ("kb/out_of_scope.yml", "examples[1]", ""),
    "duplicate_off_topic__out_of_scope.yml": ("kb/out_of_scope.yml", "examples[1]", ""),
    "unknown_entry__examples.yml": ("kb/examples.yml", "tupe-missing", "entries"),
    "duplicate_example__examples.yml": ("kb/examples.yml", "entries.tupe-sample[1]", ""),
    "clashing_off_topic__examples.yml": ("kb/examples.yml", "off_topic[0]", ""),
    "unknown_version_target__support.yml": ("kb/support.yml", "support-sample", "versions.wales"),
    "unknown_value_in_versions__support.yml": ("kb/support.yml", "support-sample", "versions.cornwall"),
    "version_elsewhere__support.yml": ("kb/support.yml", "support-sample", "versions.wales"),
}


def test_each_context_value_names_one_applies_to_key():
    """versions are keyed by a bare value (wales, lgps, cic), so no value may be used by two keys."""
    assert len(kb.CONTEXT_VALUE_KEY) == sum(len(values) for values in kb.APPLIES_TO_VALUES.values())


def broken_kb(tmp_path: Path, fault: str) -> Path:
    """A copy of the valid fixture with one file replaced by the broken one."""
    target = tmp_path / "kb"
    shutil.copytree(FIXTURES / "kb_valid", target)
    shutil.copy(FIXTURES / "kb_broken" / fault, target / (fault.split("__")[1]))
    return target


def test_every_broken_fixture_has_an_expectation():
    assert sorted(p.name for p in (FIXTURES / "kb_broken").glob("*.yml")) == sorted(EXPECTED)


def test_valid_fixture_loads():
    base = kb.load(FIXTURES / "kb_valid")
    assert len(base.entries) == len(TOPICS)
    assert base.organisations["sample-org"].name == "Sample organisation"


@pytest.mark.parametrize("fault", sorted(f for f, e in EXPECTED.items() if e))
def test_fault_is_reported_with_file_entry_and_field(tmp_path, fault):
    path = broken_kb(tmp_path, fault)
    base, problems = kb.validate(path)
    assert base is None, "a broken knowledge base must not load"
    errors = kb.iter_errors(problems)
    want_file, want_entry, want_field = EXPECTED[fault]
    assert any(p.file == want_file and p.entry == want_entry and p.field == want_field for p in errors), errors
    with pytest.raises(kb.KnowledgeBaseError) as info:
        kb.load(path)
    assert want_file in str(info.value)


def test_overdue_review_is_a_warning_not_an_error(tmp_path):
    path = broken_kb(tmp_path, "overdue_review__tupe.yml")
    base, problems = kb.validate(path)
    assert base is not None
    assert [(p.entry, p.field, p.severity) for p in problems] == [("tupe-sample", "review_due", "warning")]


@pytest.mark.parametrize("fault,code", [("missing_source__tupe.yml", 1), ("overdue_review__tupe.yml", 0)])
def test_check_command_exit_code(tmp_path, fault, code):
    path = broken_kb(tmp_path, fault)
    out = subprocess.run([sys.executable, "-m", "bot", "check", "--faq", str(path)], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == code, out.stdout + out.stderr
    assert "tupe-sample" in out.stdout


def test_real_knowledge_base_passes_and_meets_the_floor():
    base, problems = kb.validate(ROOT / "faq")
    assert base is not None, "\n".join(str(p) for p in kb.iter_errors(problems))
    assert len(base.entries) >= 60
    for topic in TOPICS:
        assert len(base.by_topic(topic)) >= 6, topic
    assert len(base.organisations) >= 12
    for entry in base.entries.values():
        assert len(entry.alternates) >= 4, entry.id
        assert entry.sources, entry.id


def test_every_organisation_is_referred_to():
    base = kb.load(ROOT / "faq")
    used = {o for e in base.entries.values() for o in e.refer}
    assert set(base.organisations) - used == set()


def test_off_topic_examples_load(tmp_path):
    shutil.copytree(FIXTURES / "kb_valid", tmp_path / "kb")
    (tmp_path / "kb" / "out_of_scope.yml").write_text('examples:\n  - "how do I renew my  parking permit"\n')
    assert kb.load(tmp_path / "kb").off_topic == ("how do I renew my parking permit",)
    assert kb.load(FIXTURES / "kb_valid").off_topic == ()  # the file is optional


def test_labelled_examples_load_and_are_matched_but_not_phrasings(tmp_path):
    shutil.copytree(FIXTURES / "kb_valid", tmp_path / "kb")
    (tmp_path / "kb" / "examples.yml").write_text(
        'entries:\n  tupe-sample:\n    - "when  does the new employer get the staff details"\n'
        'off_topic:\n  - "how do I renew my parking permit"\n')
    entry = kb.load(tmp_path / "kb").entries["tupe-sample"]
    assert entry.examples == ("when does the new employer get the staff details",)
    assert entry.examples[0] not in entry.phrasings and entry.match_texts[-1] == entry.examples[0]
    assert kb.load(tmp_path / "kb").off_topic == ("how do I renew my parking permit",)


def test_version_changes_with_content(tmp_path):
    shutil.copytree(FIXTURES / "kb_valid", tmp_path / "kb")
    before = kb.kb_version(tmp_path / "kb")
    (tmp_path / "kb" / "service.yml").write_text((tmp_path / "kb" / "service.yml").read_text() + "\n# edit\n")
    assert kb.kb_version(tmp_path / "kb") != before
