""""Make a test" from a reviewed conversation.

The turn goes into the answer-quality evaluation set (``tests/eval/questions.yml``) with the
entry it should get (or ``out_of_scope``), on the tuning split, because a reviewer chose it
after seeing the failure: it must not pose as held-out evidence. The whole conversation goes
into a Rasa test-story file (user text, the intent the NLU gave, the actions the assistant
ran), which ``rasa test core`` replays, so a change that alters this conversation's routing
is caught. Both files are appended to as text, never re-dumped, and re-read to check.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .. import evaluation, kb
from ..settings import FAQ_DIR, ROOT
from . import db as rdb
from .proposals import clean, source_turn
from .transcript import Turn, load as load_transcript

QUESTIONS = ROOT / "tests" / "eval" / "questions.yml"
STORIES = ROOT / "tests" / "review_stories.yml"
STORIES_HEADER = """version: "3.1"

# Conversations reviewers turned into tests (`python -m bot review make-test`). `rasa test core`
# replays each one: the trained NLU must give the same intents and the dialogue the same actions.
stories:
"""


class DuplicateTest(ValueError):
    """The question (or story) is already there."""


@dataclass
class MadeTest:
    question: str
    expect: str
    questions_file: Path
    story: str | None  # the story's name, None when the conversation already had one
    stories_file: Path


def valid_expectations(faq_dir: Path) -> set[str]:
    return set(kb.load(Path(faq_dir)).entries) | {evaluation.OUT_OF_SCOPE, *evaluation.SMALL_TALK}


def add_question(path: Path, text: str, expect: str, *, split: str = "tune", comment: str = "",
                 faq_dir: Path = FAQ_DIR) -> str:
    """Append ``{text, expect, split}`` to a questions file; refuse a question already in it."""
    path = Path(path)
    text = clean(text)
    if expect not in valid_expectations(faq_dir):
        raise ValueError(f"expect must be an entry id, {evaluation.OUT_OF_SCOPE} or a small-talk intent; "
                         f"got {expect!r}")
    if split not in ("tune", "heldout"):
        raise ValueError("split must be tune or heldout")
    existing = evaluation.load_questions(path)
    if any(clean(q.text).lower() == text.lower() for q in existing):
        raise DuplicateTest(f"{text!r} is already in {path}")
    old = path.read_text(encoding="utf-8")
    m = re.search(r"^(\s*)- \{?\s*text:", old, re.MULTILINE)
    indent = m.group(1) if m else "  "
    line = f"{indent}- {{text: {json.dumps(text, ensure_ascii=False)}, expect: {expect}, split: {split}}}"
    if comment:
        line += f"  # {' '.join(comment.split())}"
    new = (old if old.endswith("\n") else old + "\n") + line + "\n"
    path.write_text(new, encoding="utf-8")
    try:
        after = evaluation.load_questions(path)
        ok = len(after) == len(existing) + 1 and (after[-1].text, after[-1].expect, after[-1].split) == (text, expect, split)
    except Exception:  # noqa: BLE001 - any parse failure means the append went wrong
        ok = False
    if not ok:
        path.write_text(old, encoding="utf-8")
        raise ValueError(f"appending to {path} did not give the question as its last item; file restored "
                         "(is `questions:` the last list in the file?)")
    return line.strip()


def story_name(sender_id: str) -> str:
    return f"review {sender_id}"


def story_steps(turns: list[Turn]) -> list[str]:
    """YAML lines of a test story's steps: each user text with its intent, then its actions."""
    out: list[str] = []
    for t in turns:
        text = clean(t.text)
        if not t.intent or not text:
            continue
        out += ["      - user: |", f"          {text}", f"        intent: {t.intent}"]
        out += [f"      - action: {a}" for a in t.actions]
    return out


def add_story(path: Path, sender_id: str, turns: list[Turn]) -> str | None:
    """Append the conversation as a test story; None if the file already has it."""
    path = Path(path)
    name = story_name(sender_id)
    created = not path.exists()
    if not created:
        old = path.read_text(encoding="utf-8")
        data = yaml.safe_load(old) or {}
        if any(s.get("story") == name for s in data.get("stories") or [] if isinstance(s, dict)):
            return None
    else:
        old, data = STORIES_HEADER, {"stories": []}
    before = len(data.get("stories") or [])
    steps = story_steps(turns)
    if not steps:
        raise ValueError(f"conversation {sender_id!r} has no user turns to replay")
    block = "\n".join([f"  - story: {json.dumps(name)}", "    steps:", *steps]) + "\n"
    text = old if old.endswith("\n") else old + "\n"
    new = text + ("" if text.endswith(":\n") or text.endswith("\n\n") else "\n") + block
    path.write_text(new, encoding="utf-8")
    try:
        stories = (yaml.safe_load(new) or {}).get("stories") or []
        ok = len(stories) == before + 1 and stories[-1].get("story") == name
    except yaml.YAMLError:
        ok = False
    if not ok:
        if created:
            path.unlink(missing_ok=True)
        else:
            path.write_text(old, encoding="utf-8")
        raise ValueError(f"appending to {path} did not give the story as its last item; file restored")
    return name


def make_test(db: rdb.ReviewDB, sender_id: str, turn: int, expect: str | None = None, *,
              questions: Path = QUESTIONS, stories: Path = STORIES, faq_dir: Path = FAQ_DIR) -> MadeTest:
    """Add the turn to the evaluation set and the conversation to the story file.

    ``expect`` defaults to the entry the turn was answered with (the reviewer confirms it was right).
    """
    t = source_turn(db, sender_id, turn)
    if expect is None:
        if t.kind != "answer" or not t.entry_id:
            raise ValueError(f"turn {turn} was not answered ({t.kind}); say what it should get with --expect")
        expect = t.entry_id
    add_question(questions, t.text, expect, comment=f"review {sender_id} turn {turn}", faq_dir=faq_dir)
    name = add_story(stories, sender_id, load_transcript(db, sender_id).turns)
    return MadeTest(clean(t.text), expect, Path(questions), name, Path(stories))
