"""Command line: ``python -m bot check`` validates the knowledge base; ``logs`` manages the
conversation log; ``warm`` caches the matcher's sentence vectors; ``review`` is the reviewers' inbox, transcripts, proposals, tests and
insights; ``endpoints`` writes Rasa's endpoints file."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import kb, settings
from .review import cli as review_cli


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


def cmd_warm(args: argparse.Namespace) -> int:
    """Build the matcher once so its sentence vectors are cached in var/cache: the first
    start after a knowledge-base change then takes seconds, not the minute of encoding."""
    import time

    from .match import Matcher

    start = time.perf_counter()
    matcher = Matcher(kb.load(Path(args.faq)))
    print(f"warm: matcher ready, {len(matcher._keys)} phrasings, {time.perf_counter() - start:.1f} s "
          f"(sentence vectors cached in {settings.CACHE_DIR})")
    return 0


def cmd_examples(args: argparse.Namespace) -> int:
    """Write faq/examples.yml from the evaluation set's tuning split; with --check, exit 1 if
    the file is out of date (make test runs the check)."""
    from . import examples

    base = kb.load(Path(args.faq))
    text = examples.export(Path(args.questions), base.entries)
    out = Path(args.faq) / "examples.yml"
    if args.check:
        if not out.exists() or out.read_text(encoding="utf-8") != text:
            print(f"examples: {out} is out of date with {args.questions}: run `.venv/bin/python -m bot examples`")
            return 1
        print(f"examples: {out} is up to date")
        return 0
    out.write_text(text, encoding="utf-8")
    data = examples.collect(examples.load_questions(Path(args.questions)), base.entries)
    print(f"examples: {sum(len(v) for v in data['entries'].values())} questions for {len(data['entries'])} entries "
          f"and {len(data['off_topic'])} off-topic questions written to {out}")
    return 0


def cmd_nlu_export(args: argparse.Namespace) -> int:
    """Write knowledge-base phrasings as NLU examples (run by scripts/train.sh)."""
    from . import nlu_export

    n = nlu_export.export(kb.load(Path(args.faq)), Path(args.nlu), Path(args.out))
    print(f"nlu-export: {n} examples from the knowledge base written to {args.out}")
    return 0


def _side_stores():
    """The stores that also hold words from a conversation: staff comments and callbacks."""
    from . import callbacks, operator_log

    return operator_log.OperatorLog(operator_log.default_path()), callbacks.CallbackStore(callbacks.default_path())


def cmd_logs(args: argparse.Namespace) -> int:
    """Retention, subject-access export and erasure on the conversation log."""
    from . import logstore

    store = logstore.LogStore(args.db)
    try:
        if args.action == "purge":
            days = args.days if args.days is not None else logstore.retention_days()
            gone = store.purge(days)
            print(f"logs: deleted {len(gone)} conversation(s) with no activity in the last {days:g} days")
            comments, requests = _side_stores()
            print(f"logs: deleted {comments.purge_comments(days)} staff comment(s) and "
                  f"{requests.purge_done(days)} completed callback request(s) older than {days:g} days")
        elif args.action == "export":
            text = logstore.write_export(store, args.sender_id, Path(args.out) if args.out else None)
            print(f"logs: conversation {args.sender_id} written to {args.out}" if args.out else text)
        elif args.action == "delete":
            n = store.delete(args.sender_id)
            comments, requests = _side_stores()
            extra = comments.forget_conversation(args.sender_id) + requests.forget_conversation(args.sender_id)
            if extra:
                print(f"logs: deleted {extra} staff comment(s) and callback request(s) from {args.sender_id}")
            if not n:
                print(f"logs: no conversation {args.sender_id!r}; nothing deleted")
                return 1
            print(f"logs: deleted conversation {args.sender_id} ({n} events)")
        elif args.action == "list":
            for sender, last in sorted(store.conversations().items(), key=lambda x: x[1]):
                print(f"{sender}\t{last:.0f}")
    except (LookupError, ValueError) as exc:
        print(f"logs: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    return 0


def cmd_endpoints(args: argparse.Namespace) -> int:
    """Write the endpoints file Rasa starts with, for the configured tracker store."""
    import yaml

    from . import logstore

    config = logstore.endpoints(logstore.tracker_url(), args.action_url, os.environ.get("LOCK_STORE_URL") or None)
    Path(args.out).write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
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
    warm = sub.add_parser("warm", help="build and cache the matcher's sentence vectors")
    warm.add_argument("--faq", default=str(settings.FAQ_DIR))
    warm.set_defaults(func=cmd_warm)
    ex = sub.add_parser("examples", help="write faq/examples.yml from the evaluation set's tuning split")
    ex.add_argument("--faq", default=str(settings.FAQ_DIR))
    ex.add_argument("--questions", default=str(settings.ROOT / "tests" / "eval" / "questions.yml"))
    ex.add_argument("--check", action="store_true", help="exit 1 if faq/examples.yml is out of date")
    ex.set_defaults(func=cmd_examples)
    exp = sub.add_parser("nlu-export", help="write knowledge-base phrasings as NLU training examples")
    exp.add_argument("--faq", default=str(settings.FAQ_DIR))
    exp.add_argument("--nlu", default=str(settings.ROOT / "data" / "nlu.yml"))
    exp.add_argument("--out", default=str(settings.ROOT / "var" / "nlu" / "kb_nlu.yml"))
    exp.set_defaults(func=cmd_nlu_export)
    logs = sub.add_parser("logs", help="conversation log: purge old, export or delete one")
    logs.add_argument("--db", default=None, help="store URL (default: TRACKER_DB_URL or var/tracker.db)")
    logs_sub = logs.add_subparsers(dest="action", required=True)
    purge = logs_sub.add_parser("purge", help="delete conversations older than N days")
    purge.add_argument("--days", type=float, default=None, help="default: LOG_RETENTION_DAYS or 90")
    export = logs_sub.add_parser("export", help="one conversation as JSON (subject access)")
    export.add_argument("sender_id")
    export.add_argument("--out", default=None, help="file to write (default: print)")
    delete = logs_sub.add_parser("delete", help="erase one conversation")
    delete.add_argument("sender_id")
    logs_sub.add_parser("list", help="conversation ids with their last activity time")
    logs.set_defaults(func=cmd_logs)
    review_cli.add_parser(sub, str(settings.FAQ_DIR))
    ends = sub.add_parser("endpoints", help="write Rasa's endpoints file for the configured stores")
    ends.add_argument("--action-url", required=True)
    ends.add_argument("--out", required=True)
    ends.set_defaults(func=cmd_endpoints)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
