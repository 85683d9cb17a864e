"""``python -m bot review ...``: the review commands (parser in ``bot/__main__.py``)."""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from ..kb import KnowledgeBaseError
from . import db as rdb
from . import export_tests, index, inbox, insights, marks, proposals, transcript


def _filters(args: argparse.Namespace, db: rdb.ReviewDB) -> inbox.Filters:
    """Saved filter (``--filter``) overlaid with whatever is given on the command line."""
    base = inbox.load_filter(db, args.filter) if args.filter else inbox.Filters()
    given = {"since": args.since, "until": args.until, "topic": args.topic, "outcome": args.outcome,
             "low_score": args.low_score, "thumbs_down": args.thumbs_down or None, "handoff": args.handoff or None,
             "state": args.state, "text": args.text}
    return dataclasses.replace(base, **{k: v for k, v in given.items() if v is not None}).check()


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


FLAG_NAMES = ("answered", "clarified", "fallback", "declined", "handoff", "callback", "thumbs_down", "restarted")


def format_page(page: inbox.Page) -> str:
    lines = [f"inbox: {page.total} conversation(s) ({page.filters.describe()}); page {page.page} of {page.pages}"]
    for r in page.rows:
        flags = ",".join(f for f in FLAG_NAMES if r[f]) or "-"
        score = f"{r['min_score']:.0f}" if r["min_score"] is not None else "-"
        text = " ".join(r["first_text"].split())
        lines.append(f"{_when(r['last_ts'])}  {r['sender_id']:<34} {r['user_turns']:>3} turns  "
                     f"{rdb.STATE_LABELS[r['state']]:<12} score {score:>4}  {flags:<30} "
                     f"{','.join(r['topics']) or '-':<20} {text[:60]}")
    return "\n".join(lines)


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def run(args: argparse.Namespace) -> int:
    """Dispatch one review command; errors a reviewer can fix print one line and exit 1."""
    db = rdb.ReviewDB(args.db)
    try:
        return _run(args, db)
    except (LookupError, ValueError, KnowledgeBaseError) as exc:
        print(f"review: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()


def _callbacks(args: argparse.Namespace) -> Path | None:
    return Path(args.callbacks) if args.callbacks else index.default_callbacks_db()


def _run(args: argparse.Namespace, db: rdb.ReviewDB) -> int:
    action = args.action
    if action == "index":
        r = index.refresh(db, _callbacks(args), rebuild=args.rebuild)
        print(f"review: indexed {r.conversations} conversation(s), dropped {r.removed}, up to event {r.last_event_id} "
              f"in {r.seconds:.2f}s")
    elif action == "inbox":
        if not args.no_refresh:
            index.refresh(db, _callbacks(args))
        f = _filters(args, db)
        if args.save:
            inbox.save_filter(db, args.save, f, args.reviewer)
            print(f"review: saved filter {args.save!r}: {f.describe()}")
        if args.csv:
            n = inbox.write_csv(db, f, Path(args.csv))
            print(f"review: {n} conversation(s) written to {args.csv}")
            return 0
        page = inbox.query(db, f, args.page, args.per_page)
        print(_json({"total": page.total, "page": page.page, "pages": page.pages, "filters": json.loads(f.to_json()),
                     "rows": page.rows}) if args.json else format_page(page))
    elif action == "filters":
        if args.delete:
            if not inbox.delete_filter(db, args.delete):
                raise LookupError(f"no saved filter {args.delete!r}")
            print(f"review: deleted saved filter {args.delete!r}")
        for row in inbox.list_filters(db):
            print(f"{row['name']}\t{row['filters'].describe()}\t({row['reviewer']})")
    elif action == "show":
        tr = transcript.load(db, args.sender_id)
        print(_json(tr.to_dict()) if args.json else transcript.format_text(tr))
    elif action == "state":
        index.refresh(db, _callbacks(args))
        state = marks.set_state(db, args.sender_id, args.value, args.turn, args.reviewer)
        where = f"turn {args.turn}" if args.turn is not None else "conversation"
        print(f"review: {args.sender_id} {where} marked {rdb.STATE_LABELS[args.value]}; "
              f"conversation is {rdb.STATE_LABELS[state]}")
    elif action == "note":
        index.refresh(db, _callbacks(args))
        marks.add_note(db, args.sender_id, args.text, args.turn, args.reviewer)
        print(f"review: note added to {args.sender_id}" + (f" turn {args.turn}" if args.turn is not None else ""))
    elif action == "amend":
        common = {"faq_dir": Path(args.faq), "out_dir": Path(args.out), "reviewer": args.reviewer, "note": args.note}
        if args.entry:
            path = proposals.propose_alternate(db, args.sender_id, args.turn, args.entry, **common)
        else:
            path = proposals.propose_new_entry(db, args.sender_id, args.turn, args.new_entry, entry_id=args.id, **common)
        print(f"review: proposal written to {path}\n  apply with: python -m bot review apply {path}")
    elif action == "proposals":
        for path in proposals.pending(Path(args.dir)):
            data = proposals.load_proposal(path)
            what = data.get("entry_id") or (data.get("entry") or {}).get("id")
            print(f"{path}\t{data['kind']}\t{what}\t{data.get('text') or ''}")
    elif action == "apply":
        return _apply(args)
    elif action == "make-test":
        made = export_tests.make_test(db, args.sender_id, args.turn, args.expect, questions=Path(args.questions),
                                      stories=Path(args.stories), faq_dir=Path(args.faq))
        print(f"review: added {made.question!r} (expect {made.expect}) to {made.questions_file}")
        print(f"review: story {made.story!r} added to {made.stories_file}" if made.story
              else f"review: {made.stories_file} already has a story for {args.sender_id}; not added again")
    elif action == "insights":
        index.refresh(db, _callbacks(args))
        ins = insights.compute(db, args.since, args.until, operator_db=Path(args.operator_db) if args.operator_db else None,
                               include_declined=args.include_declined)
        print(_json(ins.to_dict()) if args.json else insights.format_text(ins))
        if args.out:
            files = insights.write_csv(ins, Path(args.out)) + insights.write_charts(ins, Path(args.out))
            print(f"review: wrote {', '.join(p.name for p in files)} to {args.out}", file=sys.stderr if args.json else sys.stdout)
    return 0


def _apply(args: argparse.Namespace) -> int:
    try:
        result = proposals.apply(Path(args.proposal), Path(args.faq), dry_run=args.dry_run)
    except proposals.ProposalError as exc:
        print(f"review: not applied: {exc}", file=sys.stderr)
        return 1
    print(result.diff or "(no change)")
    if args.dry_run:
        print(f"review: dry run; {result.target} not changed")
        return 0
    if not result.applied:
        print(f"review: NOT applied: the knowledge base would not validate; {result.target} restored", file=sys.stderr)
        for p in result.problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print(f"review: applied to {result.target}; knowledge base valid; proposal moved to {result.moved_to}")
    print("review: retrain (scripts/train.sh) so the NLU learns the new phrasing; the matcher uses it on restart")
    return 0


def add_parser(sub: argparse._SubParsersAction, faq_default: str) -> None:
    """The ``review`` command group."""
    review = sub.add_parser("review", help="review conversations: inbox, transcript, marks, proposals, tests, insights")
    review.add_argument("--db", default=None, help="store URL (default: TRACKER_DB_URL or var/tracker.db)")
    review.add_argument("--callbacks", default=None, help="callback queue (default: CALLBACK_DB or var/callbacks.db)")
    review.add_argument("--reviewer", default=None, help="your name on states, notes and proposals (default: $REVIEWER)")
    rs = review.add_subparsers(dest="action", required=True)
    idx = rs.add_parser("index", help="bring the summary index up to date")
    idx.add_argument("--rebuild", action="store_true", help="re-summarise every conversation")
    box = rs.add_parser("inbox", help="conversations, newest first, filtered")
    box.add_argument("--since", help="active on or after YYYY-MM-DD (UTC)")
    box.add_argument("--until", help="started on or before YYYY-MM-DD (UTC)")
    box.add_argument("--topic")
    box.add_argument("--outcome", choices=inbox.OUTCOMES)
    box.add_argument("--low-score", type=float, nargs="?", const=inbox.LOW_SCORE,
                     help=f"an answer scored below N (default {inbox.LOW_SCORE:g})")
    box.add_argument("--thumbs-down", action="store_true", help="the user said an answer did not help")
    box.add_argument("--handoff", action="store_true", help="asked for a person or requested a callback")
    box.add_argument("--state", choices=rdb.STATES)
    box.add_argument("--text", help="words in what the user wrote (or an entry id)")
    box.add_argument("--filter", help="start from this saved filter")
    box.add_argument("--save", metavar="NAME", help="save these filters under NAME")
    box.add_argument("--page", type=int, default=1)
    box.add_argument("--per-page", type=int, default=inbox.PER_PAGE)
    box.add_argument("--csv", help="write every matching conversation to this CSV file")
    box.add_argument("--json", action="store_true")
    box.add_argument("--no-refresh", action="store_true", help="do not update the index first")
    flt = rs.add_parser("filters", help="list saved filters")
    flt.add_argument("--delete", metavar="NAME")
    show = rs.add_parser("show", help="one conversation turn by turn, with match metadata")
    show.add_argument("sender_id")
    show.add_argument("--json", action="store_true")
    st = rs.add_parser("state", help="set the review state of a conversation or a turn")
    st.add_argument("sender_id")
    st.add_argument("value", choices=rdb.STATES)
    st.add_argument("--turn", type=int, help="turn index (default: the whole conversation)")
    note = rs.add_parser("note", help="add a note to a conversation or a turn")
    note.add_argument("sender_id")
    note.add_argument("text")
    note.add_argument("--turn", type=int)
    am = rs.add_parser("amend", help="propose the turn's question as an alternate, or draft a new entry")
    am.add_argument("sender_id")
    am.add_argument("--turn", type=int, required=True)
    what = am.add_mutually_exclusive_group(required=True)
    what.add_argument("--entry", help="add the question as an alternate of this entry")
    what.add_argument("--new-entry", metavar="TOPIC", help="draft a new entry in this topic")
    am.add_argument("--id", help="id for the new entry (default: from the question)")
    am.add_argument("--note", default=None)
    am.add_argument("--faq", default=faq_default)
    am.add_argument("--out", default=str(proposals.PROPOSALS_DIR), help="proposal folder")
    pr = rs.add_parser("proposals", help="list proposals not applied yet")
    pr.add_argument("--dir", default=str(proposals.PROPOSALS_DIR))
    ap = rs.add_parser("apply", help="apply a proposal to faq/: show the diff, edit, validate, restore on failure")
    ap.add_argument("proposal")
    ap.add_argument("--faq", default=faq_default)
    ap.add_argument("--dry-run", action="store_true", help="show the diff only")
    mt = rs.add_parser("make-test", help="add the turn to the evaluation set and the conversation to a test story")
    mt.add_argument("sender_id")
    mt.add_argument("--turn", type=int, required=True)
    mt.add_argument("--expect", help="entry id or out_of_scope (default: the entry it was answered with)")
    mt.add_argument("--questions", default=str(export_tests.QUESTIONS))
    mt.add_argument("--stories", default=str(export_tests.STORIES))
    mt.add_argument("--faq", default=faq_default)
    ins = rs.add_parser("insights", help="volume, topics, outcomes, feedback, unanswered questions; charts and CSV")
    ins.add_argument("--since")
    ins.add_argument("--until")
    ins.add_argument("--out", help="folder for the PNG charts and CSV files")
    ins.add_argument("--operator-db", help="operators' verdicts (default: OPERATOR_DB or var/operator.db)")
    ins.add_argument("--include-declined", action="store_true", help="count declined questions as unanswered too")
    ins.add_argument("--json", action="store_true")
    review.set_defaults(func=run)
