"""Reviewing conversations: find what went wrong, mark it, and turn it into a fix or a test.

Works on the same database as Rasa's tracker store (``bot.logstore``: SQLite or PostgreSQL).
The events themselves are never changed here; a summary index (``review_conversations``,
``review_turns``), the reviewers' states and notes, and saved filters live in their own tables
beside them, so the inbox reads a few indexed rows instead of parsing every event.

Modules: ``db`` (tables), ``index`` (summaries, refreshed incrementally), ``inbox`` (filters,
saved filters, pages), ``transcript`` (one conversation turn by turn), ``marks`` (review states,
notes), ``proposals`` (knowledge-base changes written as files and applied with validation),
``export_tests`` (a turn into the evaluation set, a conversation into a test story),
``insights`` (figures, charts, CSV). ``python -m bot review --help`` lists the commands.
"""
