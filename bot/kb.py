"""Load and validate the knowledge base in ``faq/``.

Every fault is reported with the file, the entry id and the field, so a reviewer can fix a
YAML change without reading Python. Loading collects all faults before failing, because a
reviewer fixing one fault at a time would need many runs.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

TOPICS = (
    "pensions",
    "tupe",
    "procurement",
    "governance",
    "finance",
    "process",
    "support",
    "eligibility",
)
APPLIES_TO_VALUES: dict[str, tuple[str, ...]] = {
    "nations": ("england", "wales", "scotland", "northern_ireland"),
    "sectors": ("nhs", "local_government", "civil_service", "schools", "social_care"),
    "schemes": ("nhsps", "lgps", "pcsps", "tps"),
    "legal_forms": (
        "cic",
        "co_operative",
        "community_benefit_society",
        "company_limited_by_guarantee",
        "company_limited_by_shares",
        "eot",
        "charity",
    ),
}
# Each context value belongs to one applies_to key (no value is used by two).
CONTEXT_VALUE_KEY = {value: key for key, values in APPLIES_TO_VALUES.items() for value in values}
ENTRY_FIELDS = {
    "id", "question", "alternates", "answer", "script", "refer", "applies_to",
    "versions", "sources", "last_reviewed", "review_due", "owner",
}
ORG_FIELDS = {"id", "name", "when", "phone", "web", "email", "nations", "note"}
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SOURCE_DATE_RE = re.compile(r"^(n\.d\.|\d{4}(-\d{2}(-\d{2})?)?)$")
# An off-topic example this alike (rapidfuzz ratio) an entry's phrasing contradicts it.
OFF_TOPIC_CLASH_RATIO = 90
NON_TOPIC_FILES = ("organisations", "service", "lexicon", "out_of_scope", "examples")
MIN_ALTERNATES = 4
MAX_ANSWER_CHARS = 700
MAX_SAY_CHARS = 1000
# Two canonical questions this similar (rapidfuzz token_sort_ratio) are the same question
# asked twice: users would get one answer or the other by chance.
NEAR_DUPLICATE_RATIO = 92


@dataclass(frozen=True)
class Problem:
    """One fault found in the knowledge base."""

    file: str
    entry: str
    field: str
    message: str
    severity: str = "error"  # "error" fails the check; "warning" is reported only

    def __str__(self) -> str:
        where = f"{self.file}: {self.entry or '-'}: {self.field or '-'}"
        return f"{self.severity.upper()} {where}: {self.message}"


class KnowledgeBaseError(Exception):
    """Raised when the knowledge base has errors; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(
            f"{len(errors)} knowledge-base error(s):\n" + "\n".join(str(p) for p in errors)
        )


@dataclass(frozen=True)
class Source:
    title: str
    url: str
    date: str


@dataclass(frozen=True)
class Script:
    say: str
    ask: tuple[str, ...]


@dataclass(frozen=True)
class Entry:
    id: str
    topic: str
    question: str
    alternates: tuple[str, ...]
    answer: str
    script: Script
    refer: tuple[str, ...]
    applies_to: dict[str, tuple[str, ...]]
    sources: tuple[Source, ...]
    last_reviewed: dt.date
    review_due: dt.date
    owner: str
    file: str
    # Users' questions labelled with this entry (faq/examples.yml, from the evaluation set's
    # tuning split): matched like phrasings, but not reviewed as part of the entry.
    examples: tuple[str, ...] = ()
    # The entry that answers this same question for another context, by the value named ("who do
    # we contact first" -> wales: support-wales; the NHS pension -> lgps: the council pension): a
    # follow-up that only names that context gets it, whatever the words of the two share.
    versions: Mapping[str, str] = field(default_factory=dict)

    @property
    def phrasings(self) -> tuple[str, ...]:
        """The entry's own ways of asking it: its question and alternates."""
        return (self.question, *self.alternates)

    @property
    def match_texts(self) -> tuple[str, ...]:
        """Everything matching compares a message with: phrasings, then labelled examples."""
        return (*self.phrasings, *self.examples)


@dataclass(frozen=True)
class Organisation:
    id: str
    name: str
    when: str
    phone: str | None
    web: str | None
    email: str | None
    nations: tuple[str, ...]
    note: str | None


@dataclass(frozen=True)
class Service:
    """The mutuals information line's own contact details."""

    name: str
    phone: str
    hours: str
    email: str | None


@dataclass
class KnowledgeBase:
    entries: dict[str, Entry]
    organisations: dict[str, Organisation]
    service: Service
    version: str
    lexicon: tuple[tuple[str, ...], ...] = ()
    warnings: list[Problem] = field(default_factory=list)
    # Messages we must decline although they use our words (faq/out_of_scope.yml, read by bot.oos).
    off_topic: tuple[str, ...] = ()

    def by_topic(self, topic: str) -> list[Entry]:
        return [e for e in self.entries.values() if e.topic == topic]


class _Collector:
    """Collects problems while parsing, so one run reports all of them."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def error(self, file: str, entry: str, field_: str, message: str) -> None:
        self.problems.append(Problem(file, entry, field_, message))

    def warn(self, file: str, entry: str, field_: str, message: str) -> None:
        self.problems.append(Problem(file, entry, field_, message, "warning"))


def _text(c: _Collector, f: str, eid: str, raw: dict, key: str, limit: int | None = None) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        c.error(f, eid, key, "missing or empty (a non-empty string is required)")
        return ""
    value = " ".join(value.split())
    if limit and len(value) > limit:
        c.error(f, eid, key, f"too long: {len(value)} characters (at most {limit})")
    return value


def _date(c: _Collector, f: str, eid: str, raw: dict, key: str) -> dt.date:
    value = raw.get(key)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    c.error(f, eid, key, f"malformed date {value!r} (use YYYY-MM-DD)")
    return dt.date.min


def _str_list(c: _Collector, f: str, eid: str, raw: dict, key: str, minimum: int) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        value = []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        c.error(f, eid, key, "must be a list of non-empty strings")
        return ()
    if len(value) < minimum:
        c.error(f, eid, key, f"has {len(value)} item(s); at least {minimum} required")
    return tuple(" ".join(v.split()) for v in value)


def _read_yaml(c: _Collector, path: Path, root: Path) -> Any:
    rel = _rel(path, root)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        c.error(rel, "", "", "file not found")
    except yaml.YAMLError as exc:
        c.error(rel, "", "", f"not valid YAML: {exc}".replace("\n", " "))
    return None


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def _parse_sources(c: _Collector, f: str, eid: str, raw: dict) -> tuple[Source, ...]:
    value = raw.get("sources")
    if not isinstance(value, list) or not value:
        c.error(f, eid, "sources", "missing: every entry needs at least one source")
        return ()
    out = []
    for i, src in enumerate(value):
        key = f"sources[{i}]"
        if not isinstance(src, dict):
            c.error(f, eid, key, "must be a mapping with title, url and date")
            continue
        title, url, date = src.get("title"), src.get("url"), src.get("date")
        if not isinstance(title, str) or not title.strip():
            c.error(f, eid, f"{key}.title", "missing")
        if not isinstance(url, str) or not re.match(r"^https?://\S+$", url or ""):
            c.error(f, eid, f"{key}.url", f"not a web address: {url!r}")
        date_s = date.isoformat() if isinstance(date, dt.date) else str(date)
        if not SOURCE_DATE_RE.match(date_s):
            c.error(f, eid, f"{key}.date", f"malformed date {date!r} (YYYY, YYYY-MM, YYYY-MM-DD or n.d.)")
        out.append(Source(str(title or ""), str(url or ""), date_s))
    return tuple(out)


def _parse_applies_to(c: _Collector, f: str, eid: str, raw: dict) -> dict[str, tuple[str, ...]]:
    value = raw.get("applies_to") or {}
    if not isinstance(value, dict):
        c.error(f, eid, "applies_to", "must be a mapping")
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for key, items in value.items():
        allowed = APPLIES_TO_VALUES.get(key)
        if allowed is None:
            c.error(f, eid, f"applies_to.{key}", f"unknown key (use {', '.join(APPLIES_TO_VALUES)})")
            continue
        if not isinstance(items, list):
            c.error(f, eid, f"applies_to.{key}", "must be a list")
            continue
        bad = [v for v in items if v not in allowed]
        if bad:
            c.error(f, eid, f"applies_to.{key}", f"unknown value(s) {bad} (allowed: {', '.join(allowed)})")
        out[key] = tuple(v for v in items if v in allowed)
    return out


def _parse_versions(c: _Collector, f: str, eid: str, raw: dict) -> dict[str, str]:
    value = raw.get("versions") or {}
    if not isinstance(value, dict):
        c.error(f, eid, "versions", "must be a mapping of a context value (wales, lgps, nhs, cic...) to an entry id")
        return {}
    out: dict[str, str] = {}
    for key, target in value.items():
        if key not in CONTEXT_VALUE_KEY:
            c.error(f, eid, f"versions.{key}", "unknown context value (use a value allowed in applies_to)")
        elif not isinstance(target, str) or not ID_RE.match(target):
            c.error(f, eid, f"versions.{key}", f"must be an entry id, got {target!r}")
        else:
            out[key] = target
    return out


def _parse_script(c: _Collector, f: str, eid: str, raw: dict) -> Script:
    value = raw.get("script")
    if not isinstance(value, dict):
        c.error(f, eid, "script", "missing: needs `say` and `ask`")
        return Script("", ())
    say = _text(c, f, eid, value, "say", MAX_SAY_CHARS)
    ask = _str_list(c, f, eid, value, "ask", 1)
    return Script(say, ask)


def _parse_entry(c: _Collector, f: str, topic: str, raw: Any, index: int) -> Entry | None:
    if not isinstance(raw, dict):
        c.error(f, f"entries[{index}]", "", "an entry must be a mapping")
        return None
    eid = raw.get("id")
    if not isinstance(eid, str) or not ID_RE.match(eid):
        c.error(f, f"entries[{index}]", "id", f"missing or malformed id {eid!r} (lowercase-with-hyphens)")
        eid = f"entries[{index}]"
    elif not eid.startswith(f"{topic}-"):
        c.error(f, eid, "id", f"must start with the topic, '{topic}-'")
    for key in sorted(set(raw) - ENTRY_FIELDS):
        c.error(f, eid, key, "unknown field")
    entry_topic = raw.get("topic", topic)
    if entry_topic != topic:
        c.error(f, eid, "topic", f"{entry_topic!r} does not match the file's topic {topic!r}")
    reviewed = _date(c, f, eid, raw, "last_reviewed")
    due = _date(c, f, eid, raw, "review_due")
    if reviewed != dt.date.min and due != dt.date.min and due < reviewed:
        c.error(f, eid, "review_due", "is before last_reviewed")
    return Entry(
        id=eid,
        topic=topic,
        question=_text(c, f, eid, raw, "question"),
        alternates=_str_list(c, f, eid, raw, "alternates", MIN_ALTERNATES),
        answer=_text(c, f, eid, raw, "answer", MAX_ANSWER_CHARS),
        script=_parse_script(c, f, eid, raw),
        refer=_str_list(c, f, eid, raw, "refer", 1),
        applies_to=_parse_applies_to(c, f, eid, raw),
        versions=_parse_versions(c, f, eid, raw),
        sources=_parse_sources(c, f, eid, raw),
        last_reviewed=reviewed,
        review_due=due,
        owner=_text(c, f, eid, raw, "owner"),
        file=f,
    )


def _parse_organisations(c: _Collector, path: Path, root: Path) -> dict[str, Organisation]:
    f = _rel(path, root)
    data = _read_yaml(c, path, root)
    if data is None:
        return {}
    items = data.get("organisations") if isinstance(data, dict) else None
    if not isinstance(items, list):
        c.error(f, "", "organisations", "missing: the file needs an `organisations:` list")
        return {}
    out: dict[str, Organisation] = {}
    for i, raw in enumerate(items):
        if not isinstance(raw, dict):
            c.error(f, f"organisations[{i}]", "", "must be a mapping")
            continue
        oid = raw.get("id")
        if not isinstance(oid, str) or not ID_RE.match(oid):
            c.error(f, f"organisations[{i}]", "id", f"missing or malformed id {oid!r}")
            continue
        for key in sorted(set(raw) - ORG_FIELDS):
            c.error(f, oid, key, "unknown field")
        if oid in out:
            c.error(f, oid, "id", "duplicate organisation id")
        contacts = {k: raw.get(k) for k in ("phone", "web", "email")}
        if not any(isinstance(v, str) and v.strip() for v in contacts.values()):
            c.error(f, oid, "phone/web/email", "needs at least one way to get in touch")
        web = contacts["web"]
        if web is not None and not re.match(r"^https://\S+$", str(web)):
            c.error(f, oid, "web", f"not an https address: {web!r}")
        email = contacts["email"]
        if email is not None and not re.match(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", str(email)):
            c.error(f, oid, "email", f"not an email address: {email!r}")
        nations = _str_list(c, f, oid, raw, "nations", 1)
        bad = [n for n in nations if n not in APPLIES_TO_VALUES["nations"]]
        if bad:
            c.error(f, oid, "nations", f"unknown nation(s) {bad}")
        out[oid] = Organisation(
            id=oid,
            name=_text(c, f, oid, raw, "name"),
            when=_text(c, f, oid, raw, "when"),
            phone=str(contacts["phone"]) if contacts["phone"] else None,
            web=str(web) if web else None,
            email=str(email) if email else None,
            nations=nations,
            note=" ".join(str(raw["note"]).split()) if raw.get("note") else None,
        )
    return out


def _parse_service(c: _Collector, path: Path, root: Path) -> Service:
    f = _rel(path, root)
    data = _read_yaml(c, path, root)
    raw = data.get("service") if isinstance(data, dict) else None
    if not isinstance(raw, dict):
        c.error(f, "service", "service", "missing: the file needs a `service:` mapping")
        return Service("", "", "", None)
    return Service(
        name=_text(c, f, "service", raw, "name"),
        phone=_text(c, f, "service", raw, "phone"),
        hours=_text(c, f, "service", raw, "hours"),
        email=raw.get("email") or None,
    )


def _parse_lexicon(c: _Collector, path: Path, root: Path) -> tuple[tuple[str, ...], ...]:
    """Rows of interchangeable terms; the first of each row is the form matching uses."""
    f = _rel(path, root)
    if not path.exists():
        return ()
    data = _read_yaml(c, path, root)
    rows = data.get("terms") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        c.error(f, "", "terms", "missing: the file needs a `terms:` list of lists")
        return ()
    out = []
    owner: dict[str, str] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) < 2 or not all(isinstance(t, str) and t.strip() for t in row):
            c.error(f, f"terms[{i}]", "", "each row must list at least two non-empty terms")
            continue
        terms = tuple(" ".join(t.lower().split()) for t in row)
        for t in terms:
            if t in owner and owner[t] != terms[0]:
                c.error(f, f"terms[{i}]", t, f"already a variant of {owner[t]!r}")
            owner[t] = terms[0]
        out.append(terms)
    return tuple(out)


def _clashes(c: _Collector, f: str, field_name: str, texts: list[str], entries: list[Entry]) -> None:
    """Off-topic texts must not be near copies of an entry's phrasing (the same words labelled
    both "answer" and "decline" would teach the detector nothing)."""
    from rapidfuzz import fuzz, process

    phrasings = [" ".join(p.lower().split()) for e in entries for p in e.phrasings]
    for i, text in enumerate(texts):
        hit = process.extractOne(text.lower(), phrasings, scorer=fuzz.ratio, score_cutoff=OFF_TOPIC_CLASH_RATIO)
        if hit:
            c.error(f, f"{field_name}[{i}]", "", f"{text!r} is {hit[1]:.0f}% alike an entry's phrasing {hit[0]!r}")


def _distinct_texts(c: _Collector, f: str, field_name: str, items: Any, seen: set[str]) -> list[str] | None:
    """A list of non-empty strings, whitespace-normalised; a repeat (within ``seen``) is an error."""
    if not isinstance(items, list) or not all(isinstance(t, str) and t.strip() for t in items):
        c.error(f, "", field_name, "must be a list of non-empty strings")
        return None
    out: list[str] = []
    for i, text in enumerate(items):
        key = " ".join(text.lower().split())
        if key in seen:
            c.error(f, f"{field_name}[{i}]", "", f"duplicate example {text!r}")
        seen.add(key)
        out.append(" ".join(text.split()))
    return out


def _parse_off_topic(c: _Collector, path: Path, root: Path, entries: list[Entry]) -> tuple[str, ...]:
    """Off-topic examples: distinct, non-empty, and none a near-copy of an entry's phrasing."""
    f = _rel(path, root)
    if not path.exists():
        return ()
    data = _read_yaml(c, path, root)
    items = data.get("examples") if isinstance(data, dict) else None
    if not isinstance(items, list):
        c.error(f, "", "examples", "missing: the file needs an `examples:` list of non-empty strings")
        return ()
    out = _distinct_texts(c, f, "examples", items, set())
    if out is None:
        return ()
    _clashes(c, f, "examples", out, entries)
    return tuple(out)


def _parse_examples(c: _Collector, path: Path, root: Path,
                    entries: list[Entry]) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """Labelled user questions (bot.examples): per entry id, and off-topic. Optional file."""
    f = _rel(path, root)
    if not path.exists():
        return {}, ()
    data = _read_yaml(c, path, root)
    if not isinstance(data, dict) or set(data) - {"entries", "off_topic"}:
        c.error(f, "", "", "the file holds `entries:` (entry id -> questions) and `off_topic:` (questions)")
        return {}, ()
    ids = {e.id for e in entries}
    seen: set[str] = set()
    out: dict[str, tuple[str, ...]] = {}
    raw_entries = data.get("entries") or {}
    if not isinstance(raw_entries, dict):
        c.error(f, "", "entries", "must map entry ids to lists of questions")
        raw_entries = {}
    for eid, items in raw_entries.items():
        if eid not in ids:
            c.error(f, str(eid), "entries", f"unknown entry id {eid!r}")
            continue
        texts = _distinct_texts(c, f, f"entries.{eid}", items, seen)
        if texts:
            out[eid] = tuple(texts)
    off = _distinct_texts(c, f, "off_topic", data.get("off_topic") or [], seen) or []
    _clashes(c, f, "off_topic", off, entries)
    return out, tuple(off)


def _cross_checks(c: _Collector, entries: list[Entry], orgs: dict[str, Organisation], today: dt.date) -> None:
    from rapidfuzz import fuzz

    seen: dict[str, Entry] = {}
    for e in entries:
        if e.id in seen:
            c.error(e.file, e.id, "id", f"duplicate id (also in {seen[e.id].file})")
        seen[e.id] = e
        for ref in e.refer:
            if ref not in orgs:
                c.error(e.file, e.id, "refer", f"unknown organisation id {ref!r}")
        if e.review_due != dt.date.min and e.review_due < today:
            c.warn(e.file, e.id, "review_due", f"review overdue since {e.review_due.isoformat()}")
        lowered = [p.lower() for p in e.alternates]
        if len(set(lowered)) != len(lowered):
            c.error(e.file, e.id, "alternates", "repeats an alternate")
    for e in entries:  # every id is known now
        for value, target in e.versions.items():
            other, where, key = seen.get(target), f"versions.{value}", CONTEXT_VALUE_KEY[value]
            if other is None or other is e:
                c.error(e.file, e.id, where, f"{target!r} is not another entry's id")
            elif other.applies_to.get(key) and value not in other.applies_to[key]:
                c.error(e.file, e.id, where, f"{target} does not apply to {value} (its applies_to.{key})")
    from .text import basic

    questions = [(e, basic(e.question)) for e in entries if e.question]
    for i, (a, qa) in enumerate(questions):
        for b, qb in questions[i + 1:]:
            ratio = fuzz.token_sort_ratio(qa, qb)
            if ratio >= NEAR_DUPLICATE_RATIO:
                c.error(b.file, b.id, "question", f"near-duplicate of {a.id} ({ratio:.0f}% alike): merge or reword")


def kb_version(faq_dir: Path) -> str:
    """A short hash of every knowledge-base file: it changes whenever any answer changes."""
    digest = hashlib.sha256()
    for path in sorted(faq_dir.glob("*.yml")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def validate(faq_dir: Path, today: dt.date | None = None) -> tuple[KnowledgeBase | None, list[Problem]]:
    """Parse and check every file; return the knowledge base (None on errors) and all problems."""
    faq_dir = Path(faq_dir)
    today = today or dt.date.today()
    c = _Collector()
    orgs = _parse_organisations(c, faq_dir / "organisations.yml", faq_dir)
    service = _parse_service(c, faq_dir / "service.yml", faq_dir)
    entries: list[Entry] = []
    topic_files = {p.stem: p for p in faq_dir.glob("*.yml") if p.stem not in NON_TOPIC_FILES}
    for name in sorted(set(topic_files) - set(TOPICS)):
        c.error(_rel(topic_files[name], faq_dir), "", "", f"unknown topic file (topics: {', '.join(TOPICS)})")
    for topic in TOPICS:
        path = faq_dir / f"{topic}.yml"
        f = _rel(path, faq_dir)
        data = _read_yaml(c, path, faq_dir)
        if data is None:
            continue
        if not isinstance(data, dict) or data.get("topic") != topic:
            c.error(f, "", "topic", f"the file must start with `topic: {topic}`")
            continue
        items = data.get("entries")
        if not isinstance(items, list) or not items:
            c.error(f, "", "entries", "missing or empty `entries:` list")
            continue
        for i, raw in enumerate(items):
            entry = _parse_entry(c, f, topic, raw, i)
            if entry:
                entries.append(entry)
    lexicon = _parse_lexicon(c, faq_dir / "lexicon.yml", faq_dir)
    off_topic = _parse_off_topic(c, faq_dir / "out_of_scope.yml", faq_dir, entries)
    examples, off_examples = _parse_examples(c, faq_dir / "examples.yml", faq_dir, entries)
    entries = [replace(e, examples=examples[e.id]) if e.id in examples else e for e in entries]
    known_off = {o.lower() for o in off_topic}
    off_topic += tuple(t for t in off_examples if t.lower() not in known_off)
    _cross_checks(c, entries, orgs, today)
    errors = [p for p in c.problems if p.severity == "error"]
    if errors:
        return None, c.problems
    kb = KnowledgeBase(
        entries={e.id: e for e in entries},
        organisations=orgs,
        service=service,
        version=kb_version(faq_dir),
        lexicon=lexicon,
        warnings=[p for p in c.problems if p.severity == "warning"],
        off_topic=off_topic,
    )
    return kb, c.problems


def load(faq_dir: Path) -> KnowledgeBase:
    """Load the knowledge base or raise KnowledgeBaseError listing every error."""
    kb, problems = validate(faq_dir)
    if kb is None:
        raise KnowledgeBaseError(problems)
    return kb


_CACHE: dict[Path, KnowledgeBase] = {}


def get(faq_dir: Path | None = None) -> KnowledgeBase:
    """The process-wide knowledge base, loaded once (the action server calls this per message)."""
    from . import settings

    path = Path(faq_dir or settings.FAQ_DIR).resolve()
    if path not in _CACHE:
        _CACHE[path] = load(path)
    return _CACHE[path]


def iter_errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]
