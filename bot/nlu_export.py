"""Export knowledge-base phrasings as NLU examples for the topic intents.

Every entry's question and alternates are examples of ``ask_<topic>``, so the topic prior
the matcher gets from the NLU model covers exactly what the knowledge base answers. The
file is generated at training time (scripts/train.sh), never edited by hand; examples that
data/nlu.yml already has, under any intent, are left out so no text has two intents.
"""
from __future__ import annotations

import os
from pathlib import Path

import yaml

from .kb import TOPICS, KnowledgeBase

# Phrasings per entry given to the NLU (question first, then alternates in file order); all by
# default. A cap of 8 trained in 143 s instead of 258 s, but tilted DIET towards out_of_scope
# (tune top-1 95.4% -> 86.2%), so it is only a bench option (bench/results/training.txt).
PHRASINGS_PER_ENTRY = int(os.environ.get("MUTUALS_NLU_PER_ENTRY", 0)) or None


def read_examples(nlu_path: Path, lookup: str | None = None) -> list[tuple[str, str]]:
    """(intent, text) for every example of a Rasa NLU YAML file, in file order; with ``lookup``,
    (lookup, text) for that lookup table's entries only."""
    data = yaml.safe_load(nlu_path.read_text(encoding="utf-8")) or {}
    out = []
    for block in data.get("nlu", []):
        if lookup is not None and block.get("lookup") != lookup:
            continue
        for line in str(block.get("examples", "")).splitlines():
            line = line.strip()
            if line.startswith("- ") and line[2:].strip():
                out.append((str(block.get("intent", lookup or "")), line[2:].strip()))
    return out


def capped_examples(kb: KnowledgeBase, off_topic: list[str], per_topic: int | None,
                    off_topic_cap: int | None) -> dict[str, list[str]]:
    """Labelled user questions (``Entry.examples`` and ``off_topic``) as NLU examples per intent,
    at most ``per_topic`` for each ``ask_<topic>`` and ``off_topic_cap`` for ``out_of_scope``
    (None: all). Taken in turns across a topic's entries, so each entry is represented before
    any has a second; off-topic ones evenly spaced through the list, so every author is."""
    out: dict[str, list[str]] = {}
    for topic in TOPICS:
        queues = [list(e.examples) for e in kb.by_topic(topic)]
        picked: list[str] = []
        for round_ in range(max((len(q) for q in queues), default=0)):
            picked += [q[round_] for q in queues if round_ < len(q)]
        out[f"ask_{topic}"] = picked[:per_topic]
    n = len(off_topic) if off_topic_cap is None else min(off_topic_cap, len(off_topic))
    out["out_of_scope"] = [off_topic[i * len(off_topic) // n] for i in range(n)] if n else []
    return out


def existing_examples(nlu_path: Path) -> set[str]:
    return {" ".join(text.lower().split()) for _, text in read_examples(nlu_path)}


def write_nlu(examples: dict[str, list[str]], taken: set[str], out_path: Path, header: str = "") -> int:
    """Write ``examples`` (intent -> texts) as a Rasa NLU file, leaving out texts in ``taken``
    (normalised; it grows as texts are written) and texts that span lines. Returns the count."""
    blocks = []
    count = 0
    for intent, texts in examples.items():
        lines = []
        for text in texts:
            norm = " ".join(text.lower().split())
            if norm in taken or "\n" in text:
                continue
            taken.add(norm)
            lines.append(f"- {text}")
        count += len(lines)
        blocks.append({"intent": intent, "examples": "\n".join(lines) + "\n"})
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(header + yaml.safe_dump({"version": "3.1", "nlu": blocks}, sort_keys=False, width=10000,
                                                allow_unicode=True), encoding="utf-8")
    return count


def export(kb: KnowledgeBase, nlu_path: Path, out_path: Path) -> int:
    """Write the generated NLU file; returns the number of examples written."""
    examples = {f"ask_{topic}": [text for entry in kb.by_topic(topic) for text in entry.phrasings[:PHRASINGS_PER_ENTRY]]
                for topic in TOPICS}
    header = "# Generated from faq/ by `python -m bot nlu-export` at training time. Do not edit.\n"
    return write_nlu(examples, existing_examples(nlu_path), out_path, header)
