"""Turn a match into what the user sees: text, buttons, and structured data for the page.

Every reply carries ``meta`` (entry id, score, band, runner-up, knowledge-base version) so a
reviewer can see why it was given. Fixed wordings live here; facts (answers, phone numbers,
organisations) come from the knowledge base.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from . import settings
from .kb import Entry, KnowledgeBase, Organisation
from .match import ANSWER, CLARIFY, UNKNOWN, MatchResult

NATION_NAMES = {"england": "England", "wales": "Wales", "scotland": "Scotland", "northern_ireland": "Northern Ireland"}
FEEDBACK_PROMPT = "Did that answer your question?"
GREETING = (
    "Hello. I can answer questions about taking a public service out of the public sector as a "
    "staff-led mutual, co-operative or social enterprise: pensions, TUPE, procurement, legal forms, "
    "finance and the spin-out process. What would you like to know?"
)
START_AGAIN = "OK, let's start again. What would you like to know?"


@dataclass
class Message:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    custom: dict[str, Any] = field(default_factory=dict)


@dataclass
class Reply:
    """Messages to send, and what to remember for follow-ups."""

    messages: list[Message]
    meta: dict[str, Any]
    entry_id: str | None = None


def line_contact(kb: KnowledgeBase) -> tuple[str, str]:
    """The line's phone number and hours, with deployment overrides applied."""
    return settings.LINE_PHONE or kb.service.phone, settings.LINE_HOURS or kb.service.hours


def payload(intent: str, **entities: str) -> str:
    """A button payload; the action server only accepts entry ids it offered."""
    return f"/{intent}{json.dumps(entities)}" if entities else f"/{intent}"


def referral_card(org: Organisation) -> dict[str, Any]:
    return {
        "id": org.id, "name": org.name, "when": org.when, "phone": org.phone,
        "web": org.web, "email": org.email, "note": org.note,
    }


def _referral_line(org: Organisation) -> str:
    contact = " · ".join(x for x in (org.phone, org.email, org.web) if x)
    return f"{org.name}: {contact}"


def nation_caveat(entry: Entry, nation: str | None) -> str | None:
    """Say so when the user's nation is outside the entry's stated scope."""
    nations = entry.applies_to.get("nations")
    if not nation or not nations or nation in nations:
        return None
    covered = " and ".join(NATION_NAMES[n] for n in nations)
    return f"This answer covers {covered}. The rules in {NATION_NAMES.get(nation, nation)} can differ, so please check with the organisations below."


def base_meta(kb: KnowledgeBase, result: MatchResult | None, band: str) -> dict[str, Any]:
    top = result.top if result else None
    runner = result.runner_up if result else None
    return {
        "band": band,
        "entry_id": top.id if top and band == ANSWER else None,
        "score": round(top.score, 1) if top else None,
        "top_id": top.id if top else None,
        "runner_up": {"id": runner.id, "score": round(runner.score, 1)} if runner else None,
        "candidates": [{"id": c.id, "score": round(c.score, 1)} for c in (result.candidates if result else ())],
        "out_of_scope": round(result.out_of_scope, 3) if result else None,  # bot.oos, for reviewers
        "kb_version": kb.version,
    }


def answer_entry(kb: KnowledgeBase, entry: Entry, meta: dict[str, Any], nation: str | None = None) -> Reply:
    """The answer message for one entry, with referrals, sources and the feedback question."""
    orgs = [kb.organisations[o] for o in entry.refer if o in kb.organisations]
    parts = [entry.answer]
    caveat = nation_caveat(entry, nation)
    if caveat:
        parts.append(caveat)
    parts.append("Who can help: " + "; ".join(_referral_line(o) for o in orgs[:2]))
    meta = {**meta, "band": ANSWER, "entry_id": entry.id, "topic": entry.topic}
    custom = {
        "kind": "answer",
        "entry_id": entry.id,
        "question": entry.question,
        "answer": entry.answer,
        "caveat": caveat,
        "referrals": [referral_card(o) for o in orgs],
        "sources": [{"title": s.title, "url": s.url, "date": s.date} for s in entry.sources],
        "last_reviewed": entry.last_reviewed.isoformat(),
        "meta": meta,
    }
    feedback = Message(
        FEEDBACK_PROMPT,
        buttons=[
            {"title": "Yes, thanks", "payload": payload("feedback_helpful")},
            {"title": "No", "payload": payload("feedback_not_helpful")},
        ],
        custom={"kind": "feedback_prompt", "entry_id": entry.id},
    )
    return Reply([Message("\n\n".join(parts), custom=custom), feedback], meta, entry.id)


def clarify(kb: KnowledgeBase, result: MatchResult) -> Reply:
    """Offer the closest two or three entries by their questions."""
    options = result.options()
    meta = base_meta(kb, result, CLARIFY)
    buttons = [{"title": c.entry.question, "payload": payload("choose_entry", entry_id=c.id)} for c in options]
    buttons.append({"title": "None of these", "payload": payload("deny")})
    custom = {"kind": "clarify", "options": [{"id": c.id, "question": c.entry.question} for c in options], "meta": meta}
    return Reply([Message("I'm not sure which of these you mean. Choose one, or ask in other words:", buttons, custom)], meta)


def dont_know(kb: KnowledgeBase, result: MatchResult | None, reason: str = UNKNOWN) -> Reply:
    """An honest "I don't know", with the phone line and a callback offer."""
    phone, hours = line_contact(kb)
    meta = base_meta(kb, result, UNKNOWN)
    meta["reason"] = reason
    text = (
        "Sorry, I don't know the answer to that one, and I'd rather not guess. "
        f"You can call the {kb.service.name} on {phone} ({hours}), or ask us to call you back."
    )
    buttons = [{"title": "Talk to a person", "payload": payload("human_handoff")}]
    custom = {"kind": "fallback", "phone": phone, "hours": hours, "meta": meta}
    return Reply([Message(text, buttons, custom)], meta)


def handoff(kb: KnowledgeBase) -> Reply:
    """How to reach a person: the phone line, its hours and the callback route."""
    phone, hours = line_contact(kb)
    text = (
        f"You can talk to an adviser on the {kb.service.name}: call {phone} ({hours}). "
        "If you'd rather we called you, choose \"Request a callback\" on this page and an adviser will ring you "
        "at a time that suits you."
    )
    custom = {"kind": "handoff", "phone": phone, "hours": hours, "callback": True}
    return Reply([Message(text, custom=custom)], {"band": "handoff", "kb_version": kb.version})


# What the line covers, in every decline that says so.
_SCOPE = "taking a public service out of the public sector as a mutual, co-operative or social enterprise"


def decline(kb: KnowledgeBase, reason: str) -> Reply:
    """The fixed, polite decline for out-of-scope and manipulation attempts."""
    phone, _ = line_contact(kb)
    if reason == "outside_uk":
        text = (
            "Sorry, I can only help with the UK: England, Wales, Scotland and Northern Ireland. Pensions, "
            "staff transfer and procurement rules are different in other countries, so please ask an "
            f"adviser there. For mutuals questions about UK public services you can call us on {phone}."
        )
    elif reason == "personal_pension":
        text = (
            f"That sounds like a question about your own pension, which I can't answer: I only cover {_SCOPE}. "
            "Your pension scheme's administrator can help with your own benefits, statements and retirement options; your "
            "employer's HR or payroll team can tell you who that is. If your question is about a spin-out, "
            f"please ask it again with a few words about the move, or call us on {phone}."
        )
    elif reason == "public_bodies":
        text = (
            f"That sounds like a question about how public bodies are organised, which I can't answer: I only cover {_SCOPE}. "
            "The body's own website explains its structure and who runs it; GOV.UK and the NHS bodies of each nation "
            "publish the overall picture. If your question is about a spin-out, please ask it again with a few words "
            f"about the move, or call us on {phone}."
        )
    elif reason == "personal_employment":
        text = (
            f"That sounds like a question about your own job, pay or leave, which I can't answer: I only cover {_SCOPE}. "
            "Your manager or HR team, or your trade union, can help, and in England, Wales and Scotland Acas "
            "gives free advice on employment rights. If your question is about a spin-out or a staff transfer, "
            f"please ask it again with a few words about the move, or call us on {phone}."
        )
    else:
        text = (
            f"Sorry, I can only help with questions about {_SCOPE}: pensions, TUPE, procurement, legal forms, "
            f"finance and the spin-out process. For anything else, please contact the right service; "
            f"for mutuals questions you can also call us on {phone}."
        )
    meta = {"band": "declined", "reason": reason, "kb_version": kb.version}
    return Reply([Message(text, custom={"kind": "declined", "meta": meta})], meta)


def respond(kb: KnowledgeBase, result: MatchResult, nation: str | None = None) -> Reply:
    """The reply for a match result, by its band."""
    if result.band == ANSWER and result.top:
        return answer_entry(kb, result.top.entry, base_meta(kb, result, ANSWER), nation)
    if result.band == CLARIFY:
        return clarify(kb, result)
    return dont_know(kb, result)


def feedback_reply(kb: KnowledgeBase, helpful: bool, entry_id: str | None) -> Reply:
    """Thank the user, or offer another way forward when the answer missed."""
    meta = {"band": "feedback", "feedback": "helpful" if helpful else "not_helpful", "entry_id": entry_id,
            "kb_version": kb.version}
    if helpful:
        return Reply([Message("Thanks for letting us know. What else would you like to ask?",
                              custom={"kind": "feedback_ack", "meta": meta})], meta)
    phone, hours = line_contact(kb)
    text = ("Sorry that didn't help. You could ask again in other words, or talk to an adviser on "
            f"{phone} ({hours}).")
    buttons = [{"title": "Talk to a person", "payload": payload("human_handoff")}]
    return Reply([Message(text, buttons, {"kind": "feedback_ack", "meta": meta})], meta)
