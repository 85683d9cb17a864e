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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate the knowledge base")
    check.add_argument("--faq", default=str(settings.FAQ_DIR), help="knowledge-base folder")
    check.set_defaults(func=cmd_check)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
