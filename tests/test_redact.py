"""Personal-data redaction measured on the labelled sets tests/eval/redaction*.yml.

Recall counts labelled items that no longer appear in the output; a false positive is any
change to a message without personal data, or to text outside the labelled items.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from bot.redact import NAME, redact, nhs_number_valid

LABELLED_SETS = (Path(__file__).parent / "eval" / "redaction.yml", Path(__file__).parent / "eval" / "redaction_second.yml")
PLACEHOLDERS = ("[email]", "[phone number]", "[NI number]", "[NHS number]", "[postcode]", NAME)


def _messages() -> list[dict]:
    return [m for path in LABELLED_SETS for m in yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]]


def _outside(text: str, pieces: list[str]) -> str:
    for piece in pieces:
        text = text.replace(piece, "\0")
    return text


def test_labelled_set_is_well_formed():
    messages = _messages()
    with_pii = [m for m in messages if m["pii"]]
    assert len(messages) >= 100 and len(with_pii) >= 40 and len(messages) - len(with_pii) >= 40
    for m in with_pii:
        assert all(p in m["text"] for p in m["pii"]), m["text"]
        assert len(m["kinds"]) == len(m["pii"]), m["text"]


def test_recall_and_false_positives(capsys):
    found, total, misses = Counter(), Counter(), []
    false_positives = []
    for m in _messages():
        out = redact(m["text"]).text
        for piece, kind in zip(m["pii"], m.get("kinds") or []):
            total[kind] += 1
            if piece in out:
                misses.append(f"{kind}: {piece!r} in {m['text']!r}")
            else:
                found[kind] += 1
        rest = out
        for label in PLACEHOLDERS:
            rest = rest.replace(label, "\0")
        if rest != _outside(m["text"], m["pii"]):
            false_positives.append(f"{m['text']!r} -> {out!r}")
    clean = sum(1 for m in _messages() if not m["pii"])
    recall = sum(found.values()) / sum(total.values())
    with capsys.disabled():
        print(f"\nRedaction: recall {recall:.1%} ({sum(found.values())}/{sum(total.values())} items; "
              + ", ".join(f"{k} {found[k]}/{total[k]}" for k in sorted(total))
              + f"); false positives {len(false_positives)} in {len(_messages())} messages ({clean} without personal data)")
        for line in misses + false_positives:
            print("  " + line)
    assert recall >= 0.98, misses
    assert not false_positives


def test_nhs_check_digit():
    assert nhs_number_valid("9434765919")
    assert not nhs_number_valid("9434765918")
    assert not nhs_number_valid("12345")


def test_domain_numbers_survive():
    text = "section 33, s33, reg 77, LGPS 2014, £663,540, 1 January 2024, SI 2012/1313, 28 days, 0.7%, NHS 111"
    assert redact(text).text == text
