"""Knowledge-base changes proposed from a review, written as files and applied by a person.

Nothing here edits ``faq/`` when a reviewer marks a turn: "amend" writes a proposal (a small
YAML patch under ``var/review/proposals/``) that either adds the user's words as an alternate
of an existing entry or drafts a new entry for the reviewer to complete. ``apply`` shows the
diff, inserts text lines into the topic file (the hand-written layout and comments stay as
they are; the file is never re-dumped), checks that the file still parses to exactly the old
content plus the change, runs the knowledge-base validation, and puts the original back if
anything fails.
"""
from __future__ import annotations

import datetime as dt
import difflib
import json
import re
import shutil
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .. import kb
from ..settings import FAQ_DIR, ROOT
from . import db as rdb
from .marks import reviewer_name
from .transcript import Turn, load as load_transcript

PROPOSALS_DIR = ROOT / "var" / "review" / "proposals"
KINDS = ("add_alternate", "new_entry")
TODO = "TODO"
REVIEW_MONTHS_NEW = 6  # a new answer is checked again sooner (faq/README.md: 6 or 12 months)


class ProposalError(ValueError):
    """The proposal cannot be written or applied as it stands."""


def clean(text: str) -> str:
    return " ".join(str(text).split())


def _same(a: str, b: str) -> bool:
    return clean(a).lower() == clean(b).lower()


def source_turn(db: rdb.ReviewDB, sender_id: str, turn: int) -> Turn:
    """The user turn a proposal or test is made from (a typed message, not a button)."""
    tr = load_transcript(db, sender_id)
    if not 0 <= turn < len(tr.turns):
        raise LookupError(f"conversation {sender_id!r} has no turn {turn} (it has {len(tr.turns)})")
    t = tr.turns[turn]
    if t.is_payload or not clean(t.text):
        raise ProposalError(f"turn {turn} is a button press ({t.text!r}), not words the user typed")
    return t


def _source(sender_id: str, t: Turn) -> dict[str, Any]:
    return {"conversation": sender_id, "turn": t.index, "event_id": t.event_id, "outcome": t.kind,
            "answered_with": t.entry_id, "score": t.score, "kb_version": t.kb_version}


def _write(data: dict[str, Any], out_dir: Path, label: str) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    path = out_dir / f"{stamp}-{data['kind']}-{label}.yml"
    n = 2
    while path.exists():
        path = out_dir / f"{stamp}-{data['kind']}-{label}-{n}.yml"
        n += 1
    header = (f"# Review proposal ({data['kind']}). Nothing changes until a person runs:\n"
              f"#   python -m bot review apply {path}\n"
              "# which shows the diff, edits the topic file and validates the knowledge base.\n")
    if data["kind"] == "new_entry":
        header += f"# Complete every {TODO} in `entry:` first (schema: faq/README.md).\n"
    path.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")
    return path


def propose_alternate(db: rdb.ReviewDB, sender_id: str, turn: int, entry_id: str, *, faq_dir: Path = FAQ_DIR,
                      out_dir: Path = PROPOSALS_DIR, reviewer: str | None = None, note: str | None = None) -> Path:
    """Propose the user's question as a new alternate of ``entry_id``."""
    base = kb.load(Path(faq_dir))
    entry = base.entries.get(entry_id)
    if entry is None:
        raise ProposalError(f"no entry {entry_id!r} in {faq_dir}")
    t = source_turn(db, sender_id, turn)
    text = clean(t.text)
    if any(_same(text, p) for p in entry.phrasings):
        raise ProposalError(f"{entry_id} already has {text!r} as a phrasing")
    data = {"kind": "add_alternate", "entry_id": entry_id, "text": text, "source": _source(sender_id, t),
            "reviewer": reviewer_name(reviewer), "note": note or "", "created": _now()}
    return _write(data, out_dir, entry_id)


def slug(text: str, words: int = 6) -> str:
    parts = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(parts[:words]) or "new-entry"


def draft_entry(topic: str, text: str, entry_id: str | None = None, today: dt.date | None = None) -> dict[str, Any]:
    """A schema-shaped entry with the user's question filled in and TODO where a person must write."""
    today = today or dt.date.today()
    question = clean(text)
    question = question[0].upper() + question[1:]
    if question[-1] not in "?.!":
        question += "?"
    due = today.replace(year=today.year + (today.month + REVIEW_MONTHS_NEW - 1) // 12,
                        month=(today.month + REVIEW_MONTHS_NEW - 1) % 12 + 1, day=min(today.day, 28))
    return {
        "id": entry_id or f"{topic}-{slug(text)}",
        "question": question,
        "alternates": [clean(text).lower()] + [f"{TODO} another way staff would ask this ({i})" for i in (1, 2, 3)],
        "answer": f"{TODO}: the chat answer in plain English, at most {kb.MAX_ANSWER_CHARS} characters.",
        "script": {"say": f"{TODO}: what the operator reads aloud, at most {kb.MAX_SAY_CHARS} characters.",
                   "ask": [f"{TODO}: a question to ask the caller"]},
        "refer": [f"{TODO}-organisation-id"],
        "sources": [{"title": f"{TODO}: source title", "url": f"https://{TODO}.example", "date": "n.d."}],
        "last_reviewed": today,
        "review_due": due,
        "owner": f"{topic}-lead",
    }


def propose_new_entry(db: rdb.ReviewDB, sender_id: str, turn: int, topic: str, *, entry_id: str | None = None,
                      faq_dir: Path = FAQ_DIR, out_dir: Path = PROPOSALS_DIR, reviewer: str | None = None,
                      note: str | None = None) -> Path:
    """Draft a new entry from the user's question, for the reviewer to complete."""
    if topic not in kb.TOPICS:
        raise ProposalError(f"unknown topic {topic!r} (topics: {', '.join(kb.TOPICS)})")
    t = source_turn(db, sender_id, turn)
    entry = draft_entry(topic, t.text, entry_id)
    if entry["id"] in kb.load(Path(faq_dir)).entries:
        raise ProposalError(f"entry id {entry['id']!r} is taken; pass another with --id")
    data = {"kind": "new_entry", "topic": topic, "source": _source(sender_id, t),
            "reviewer": reviewer_name(reviewer), "note": note or "", "created": _now(), "entry": entry}
    return _write(data, out_dir, entry["id"])


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def load_proposal(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProposalError(f"cannot read proposal {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("kind") not in KINDS:
        raise ProposalError(f"{path}: not a review proposal (kind must be one of {', '.join(KINDS)})")
    if data["kind"] == "add_alternate":
        if not isinstance(data.get("entry_id"), str) or not clean(data.get("text") or ""):
            raise ProposalError(f"{path}: add_alternate needs entry_id and text")
    elif not isinstance(data.get("entry"), dict) or data.get("topic") not in kb.TOPICS:
        raise ProposalError(f"{path}: new_entry needs a topic and an entry")
    return data


def pending(out_dir: Path = PROPOSALS_DIR) -> list[Path]:
    """Proposals not applied yet (applied ones move to ``applied/``)."""
    return sorted(Path(out_dir).glob("*.yml")) if Path(out_dir).exists() else []


# ---- editing a topic file as text

def yaml_scalar(text: str) -> str:
    """``text`` as a one-line YAML scalar: plain when that reads back the same, else JSON-quoted
    (a JSON string is a valid YAML double-quoted scalar)."""
    text = clean(text)
    try:
        if yaml.safe_load(f"- {text}") == [text] and not text.startswith(("'", '"')):
            return text
    except yaml.YAMLError:
        pass
    return json.dumps(text, ensure_ascii=False)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_blank(line: str) -> bool:
    return not line.strip() or line.lstrip().startswith("#")


def insert_alternate(source: str, entry_id: str, alternate: str) -> str:
    """The topic file's text with one more item at the end of the entry's ``alternates:`` list."""
    lines = source.splitlines(keepends=True)
    start_re = re.compile(r"^(\s*)-\s+id:\s*([\"']?)" + re.escape(entry_id) + r"\2\s*(#.*)?$")
    start = next((i for i, line in enumerate(lines) if start_re.match(line.rstrip("\n"))), None)
    if start is None:
        raise ProposalError(f"entry {entry_id} not found as `- id: {entry_id}`")
    item_indent = _indent(lines[start])
    end = next((j for j in range(start + 1, len(lines))
                if not _is_blank(lines[j]) and _indent(lines[j]) <= item_indent), len(lines))
    key_re = re.compile(r"^\s{%d}alternates:\s*(#.*)?$" % (item_indent + 2))
    key = next((j for j in range(start + 1, end) if key_re.match(lines[j].rstrip("\n"))), None)
    if key is None:
        raise ProposalError(f"{entry_id}: no block-style `alternates:` list to add to")
    first = next((j for j in range(key + 1, end) if not _is_blank(lines[j])), None)
    if first is None or not lines[first].lstrip().startswith("-"):
        raise ProposalError(f"{entry_id}: `alternates:` is not followed by a list of items")
    list_indent = _indent(lines[first])
    last = first
    for j in range(first + 1, end):
        if _is_blank(lines[j]):
            continue
        ind = _indent(lines[j])
        if ind > list_indent or (ind == list_indent and lines[j].lstrip().startswith("-")):
            last = j
        else:
            break
    if not lines[last].endswith("\n"):
        lines[last] += "\n"
    lines.insert(last + 1, " " * list_indent + "- " + yaml_scalar(alternate) + "\n")
    return "".join(lines)


def _folded(key: str, text: str, indent: int, width: int = 92) -> list[str]:
    text = clean(text)
    pad = " " * indent
    if len(text) + len(key) + indent + 2 <= width:
        return [f"{pad}{key}: {yaml_scalar(text)}\n"]
    body = textwrap.wrap(text, width=width - indent - 2, break_long_words=False, break_on_hyphens=False)
    return [f"{pad}{key}: >\n"] + [f"{pad}  {line}\n" for line in body]


def _flow_list(items: list[Any]) -> str:
    return "[" + ", ".join(yaml_scalar(str(i)) for i in items) + "]"


def render_entry(entry: dict[str, Any], indent: int = 2) -> str:
    """One entry in the layout faq/README.md shows (folded answers, flow lists for ids)."""
    p, q = " " * indent, " " * (indent + 2)
    out = [f"{p}- id: {entry['id']}\n", f"{q}question: {yaml_scalar(entry['question'])}\n", f"{q}alternates:\n"]
    out += [f"{q}  - {yaml_scalar(a)}\n" for a in entry.get("alternates") or []]
    out += _folded("answer", entry.get("answer") or "", indent + 2)
    script = entry.get("script") or {}
    out.append(f"{q}script:\n")
    out += _folded("say", script.get("say") or "", indent + 4)
    out.append(f"{q}  ask:\n")
    out += [f"{q}    - {yaml_scalar(a)}\n" for a in script.get("ask") or []]
    out.append(f"{q}refer: {_flow_list(entry.get('refer') or [])}\n")
    applies = {k: v for k, v in (entry.get("applies_to") or {}).items() if v}
    if applies:
        out.append(f"{q}applies_to:\n")
        out += [f"{q}  {k}: {_flow_list(v)}\n" for k, v in applies.items()]
    out.append(f"{q}sources:\n")
    for s in entry.get("sources") or []:
        s = s or {}
        out.append(f"{q}  - title: {yaml_scalar(str(s.get('title') or ''))}\n")
        out.append(f"{q}    url: {yaml_scalar(str(s.get('url') or ''))}\n")
        date = s.get("date")
        out.append(f"{q}    date: {date.isoformat() if isinstance(date, dt.date) else yaml_scalar(str(date or ''))}\n")
    for key in ("last_reviewed", "review_due"):
        value = entry.get(key)
        out.append(f"{q}{key}: {value.isoformat() if isinstance(value, dt.date) else yaml_scalar(str(value or ''))}\n")
    out.append(f"{q}owner: {yaml_scalar(str(entry.get('owner') or ''))}\n")
    return "".join(out)


def append_entry(source: str, entry: dict[str, Any]) -> str:
    """The topic file's text with ``entry`` added after the last entry (entries: is last)."""
    m = re.search(r"^(\s*)-\s+id:", source, re.MULTILINE)
    indent = len(m.group(1)) if m else 2
    text = source if source.endswith("\n") else source + "\n"
    sep = "" if text.endswith("\n\n") else "\n"
    return text + sep + render_entry(entry, indent)


def _normal(value: Any) -> Any:
    """Parsed YAML with strings whitespace-normalised, as the knowledge-base loader reads them."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    return value


def _todos(value: Any, where: str = "entry") -> list[str]:
    if isinstance(value, str):
        return [where] if TODO in value else []
    if isinstance(value, list):
        return [w for i, v in enumerate(value) for w in _todos(v, f"{where}[{i}]")]
    if isinstance(value, dict):
        return [w for k, v in value.items() for w in _todos(v, f"{where}.{k}")]
    return []


@dataclass
class ApplyResult:
    proposal: Path
    target: Path
    diff: str
    applied: bool
    problems: list[str] = field(default_factory=list)
    moved_to: Path | None = None


def plan(data: dict[str, Any], faq_dir: Path) -> tuple[Path, str, str]:
    """The target file, its current text and its text with the proposal applied (checked to
    parse to exactly the old content plus the change)."""
    base, problems = kb.validate(faq_dir)
    errors = kb.iter_errors(problems)
    if errors or base is None:
        raise ProposalError("the knowledge base has errors before this change; fix them first:\n"
                            + "\n".join(str(p) for p in errors))
    if data["kind"] == "add_alternate":
        entry = base.entries.get(data["entry_id"])
        if entry is None:
            raise ProposalError(f"no entry {data['entry_id']!r} in {faq_dir}")
        text = clean(data["text"])
        if any(_same(text, p) for p in entry.phrasings):
            raise ProposalError(f"{entry.id} already has {text!r} as a phrasing")
        target = Path(faq_dir) / f"{entry.topic}.yml"
        old = target.read_text(encoding="utf-8")
        new = insert_alternate(old, entry.id, text)
        expected = yaml.safe_load(old)
        for item in expected["entries"]:
            if item.get("id") == entry.id:
                item["alternates"].append(text)
    else:
        entry_data = dict(data["entry"])
        unknown = sorted(set(entry_data) - kb.ENTRY_FIELDS)
        if unknown:
            raise ProposalError(f"the draft has unknown field(s): {', '.join(unknown)} (schema: faq/README.md)")
        applies = {k: v for k, v in (entry_data.get("applies_to") or {}).items() if v}
        entry_data.pop("applies_to", None)
        if applies:
            entry_data["applies_to"] = applies
        todo = _todos(entry_data)
        if todo:
            raise ProposalError(f"the draft still has {TODO} in: {', '.join(todo)}; complete it first")
        if str(entry_data.get("id")) in base.entries:
            raise ProposalError(f"entry id {entry_data.get('id')!r} already exists")
        target = Path(faq_dir) / f"{data['topic']}.yml"
        old = target.read_text(encoding="utf-8")
        new = append_entry(old, entry_data)
        expected = yaml.safe_load(old)
        expected["entries"].append(entry_data)
    try:
        parsed = yaml.safe_load(new)
    except yaml.YAMLError as exc:
        raise ProposalError(f"the edited {target.name} would not be valid YAML: {exc}") from None
    if _normal(parsed) != _normal(expected):
        raise ProposalError(f"editing {target.name} as text would change more than the proposal; "
                            "edit it by hand instead")
    return target, old, new


def apply(path: Path, faq_dir: Path = FAQ_DIR, dry_run: bool = False) -> ApplyResult:
    """Apply one proposal to ``faq_dir``: diff, write, validate, and restore on any error."""
    path, faq_dir = Path(path), Path(faq_dir)
    data = load_proposal(path)
    target, old, new = plan(data, faq_dir)
    rel = target.name
    diff = "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        f"a/{rel}", f"b/{rel}"))
    if dry_run:
        return ApplyResult(path, target, diff, False)
    target.write_text(new, encoding="utf-8")
    try:
        _, problems = kb.validate(faq_dir)
        errors = kb.iter_errors(problems)
    except Exception as exc:  # noqa: BLE001 - whatever broke, the original must come back
        errors = [f"validation crashed: {exc}"]
    if errors:
        target.write_text(old, encoding="utf-8")
        return ApplyResult(path, target, diff, False, [str(e) for e in errors])
    done = path.parent / "applied"
    done.mkdir(exist_ok=True)
    moved = done / path.name
    shutil.move(str(path), moved)
    return ApplyResult(path, target, diff, True, moved_to=moved)
