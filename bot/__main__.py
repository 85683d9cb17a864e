"""Command line: ``python -m bot check`` validates the knowledge base."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import kb, settings


def cmd_check(args: argparse.Namespace) -> int:
    """Validate faq/; exit 1 on any error so CI and `make` stop on a broken knowledge base."""
    base, problems = kb.validate(Path(args.faq))
    for p in problems:
        print(p)
    errors = kb.iter_errors(problems)
    warnings = len(problems) - len(errors)
    if errors:
        print(f"FAILED: {len(errors)} error(s), {warnings} warning(s) in {args.faq}")
        return 1
    assert base is not None
    topics = {t: len(base.by_topic(t)) for t in kb.TOPICS}
    print(
        f"OK: {len(base.entries)} entries ({', '.join(f'{t} {n}' for t, n in topics.items())}), "
        f"{len(base.organisations)} organisations, version {base.version}, {warnings} warning(s)"
    )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Print the knowledge-base health report; exit 1 if any alternate routes to another entry."""
    from . import report

    base = kb.load(Path(args.faq))
    r = report.build(base)
    print(report.format_report(r))
    return 1 if (args.strict and (r.misroutes or r.overdue or r.without_sources)) else 0


def cmd_nlu_export(args: argparse.Namespace) -> int:
    """Write knowledge-base phrasings as NLU examples (run by scripts/train.sh)."""
    from . import nlu_export

    n = nlu_export.export(kb.load(Path(args.faq)), Path(args.nlu), Path(args.out))
    print(f"nlu-export: {n} examples from the knowledge base written to {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate the knowledge base")
    check.add_argument("--faq", default=str(settings.FAQ_DIR), help="knowledge-base folder")
    check.set_defaults(func=cmd_check)
    rep = sub.add_parser("report", help="knowledge-base health report")
    rep.add_argument("--faq", default=str(settings.FAQ_DIR), help="knowledge-base folder")
    rep.add_argument("--strict", action="store_true", help="exit 1 on misrouted alternates or overdue entries")
    rep.set_defaults(func=cmd_report)
    exp = sub.add_parser("nlu-export", help="write knowledge-base phrasings as NLU training examples")
    exp.add_argument("--faq", default=str(settings.FAQ_DIR))
    exp.add_argument("--nlu", default=str(settings.ROOT / "data" / "nlu.yml"))
    exp.add_argument("--out", default=str(settings.ROOT / "var" / "nlu" / "kb_nlu.yml"))
    exp.set_defaults(func=cmd_nlu_export)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
