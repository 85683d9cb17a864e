"""Export knowledge-base phrasings as NLU examples for the topic intents.

Every entry's question and alternates are examples of ``ask_<topic>``, so the topic prior
the matcher gets from the NLU model covers exactly what the knowledge base answers. The
file is generated at training time (scripts/train.sh), never edited by hand; examples that
data/nlu.yml already has, under any intent, are left out so no text has two intents.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from .kb import TOPICS, KnowledgeBase


def existing_examples(nlu_path: Path) -> set[str]:
    data = yaml.safe_load(nlu_path.read_text(encoding="utf-8")) or {}
    out = set()
    for block in data.get("nlu", []):
        for line in str(block.get("examples", "")).splitlines():
            line = line.strip()
            if line.startswith("- "):
                out.add(" ".join(line[2:].lower().split()))
    return out


def export(kb: KnowledgeBase, nlu_path: Path, out_path: Path) -> int:
    """Write the generated NLU file; returns the number of examples written."""
    taken = existing_examples(nlu_path)
    blocks = []
    count = 0
    for topic in TOPICS:
        lines = []
        for entry in kb.by_topic(topic):
            for text in entry.phrasings:
                norm = " ".join(text.lower().split())
                if norm in taken or "\n" in text:
                    continue
                taken.add(norm)
                lines.append(f"- {text}")
        count += len(lines)
        blocks.append({"intent": f"ask_{topic}", "examples": "\n".join(lines) + "\n"})
    out_path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Generated from faq/ by `python -m bot nlu-export` at training time. Do not edit.\n"
    out_path.write_text(header + yaml.safe_dump({"version": "3.1", "nlu": blocks}, sort_keys=False, width=10000,
                                                allow_unicode=True), encoding="utf-8")
    return count
