"""One conversation turn, from NLU output and remembered slots to a reply and slot updates.

Kept apart from rasa-sdk so the whole decision (guard, match, band, follow-up, choice) is
tested with plain dictionaries, and so the operator console can reuse it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping

from rapidfuzz import fuzz, process

from . import bodies, guard, handoff, jurisdiction, personal, respond, settings
from .kb import CONTEXT_VALUE_KEY, TOPICS, Entry, KnowledgeBase
from .match import ANSWER, SECTOR_SCHEME, Candidate, Context, Matcher, MatchResult, Weights, band_for, get_matcher
from .text import STOPWORDS

CONTEXT_SLOTS = ("sector", "pension_scheme", "nation", "legal_form")
SERVICE_SECTOR = "social_care"  # run by councils, the NHS or independent providers
SERVICE_RUNNERS = frozenset({"local_government", "nhs"})  # the public employers of social care staff
# In a follow-up the newly named context is the whole point of the message: it must outweigh
# the previous question's own strong match (scores run past 100 before they are capped).
FOLLOW_UP_CONTEXT_STRENGTH = 4.0
FOLLOW_UP_TOPIC_WEIGHT = 5.0  # times the usual topic prior: about 40 points
# ...but one named context's worth at most (Weights.context_match): "forgot to say we're swansea
# council" after "who do we contact first" is not a question about the LGPS because the LGPS
# entries are labelled council, LGPS and England-and-Wales. Tuning dialogues 93 -> 95 of 99,
# the two fresh sets of 2026-11-25 unchanged (32 and 34 of 40); caps of 14 and 20 changed nothing.
FOLLOW_UP_CONTEXT_CAP = Weights.context_match  # derived, so a re-weighted match keeps the rule
TOPIC_INTENT_PREFIX = "ask_"
# A message this short that names a context and says almost nothing else only re-asks the
# last question in that context ("does that apply to nhs staff too?", "northern ireland?"),
# whatever topic the NLU gave it: the NLU sees no question in it, so it guesses a topic.
# 14 words ("we're in the belfast hsc trust, does that change who we'd go to?"): 8, then 12, until
# 2026-11-25 (on the first 99 tuning dialogues 8 / 10 / 12 / 14 words gave 88 / 89 / 90 / 90); with
# the call-note words below, on all 179, 12 / 14 / 16 gave 161 / 162 / 162 (bench/dialogues.py).
# 16 since the 2026-11-25 fresh sets: "ok but my colleague's team is at Glasgow City Council - does
# the same apply up there?" is 15 (tuning dialogues 168 at 14, 16 and 18; fresh set seven 36 -> 37).
FOLLOW_UP_MAX_WORDS = 16
# A correction says so ("no, I meant in Scotland, we're a Scottish council"; "sorry I meant the
# council pension not NHS, I'm on a council contract"): it re-asks the last question in the
# context it names even when it runs longer, as people explain themselves when they correct.
# 20 since follow-ups went to 16 (16, 18 and 20 give the same 244 of 259 tuning dialogues).
CORRECTION_MAX_WORDS = 20
_CORRECTION = re.compile(
    r"^\W*(?:(?:no|nope|sorry|soz|oops|apologies|actually|ah|oh|typo)\b[\s,.!-]*)*(?:(?:i|we)\s+)?"
    r"(?:meant|mean|should(?:\s+have|\s+of|'ve|ve)?\s+said)\b")
# A message that says it re-asks ("same question", "asks the same", "same figures?") or opens as a
# correction ("oh sorry i put england, we're fife council so scotland", "apologies, wrong file
# open - this one is Flintshire, not Fife") may carry a few words of explanation, unless it asks
# something new. Up to 4 (2 / 3 / 4 / 5 gave the eighth author's set 29 each and the ninth's
# 33 / 34 / 35 / 35 of 40 when first added; the tuning dialogues 246 of 259 each).
_REASKED = re.compile(r"\bsame\b(?!\s+(?:time|day|moment|week|month|year)\b)")
_CORRECTION_OPENER = re.compile(
    r"^\W*(?:(?:oh|ah|hang on|wait|ok|okay)\W+)?"
    r"(?:sorry|soz|apologies|correction|oops|my mistake|scratch that|actually)\b")
REASKED_EXTRA_WORDS = 4
_ASKS_ANEW = frozenset("how what whats when where who whos why which".split())  # "same for a cic, how long ..."
_YES_NO_OPENERS = frozenset("can could do does did is are was will would should must may shall".split())
# ...or a yes/no question of its own: a clause opening "can / do / is ..." without "same" in it
# ("sorry, do nhs staff need a ballot?"; but "is it the same rules for us" re-asks).
_CLAUSE = re.compile(r"[,.;:?!]+|\s-+\s")
_FILLERS = frozenset("sorry soz apologies oh ah ok okay so and but well actually correction oops".split())
_CONTEXT_ONLY_WORDS = frozenset(
    """too either same apply applies applied sorry meant mean said should have actually instead
    case rules rule work works true also both members member people workers employees
    based"""
    # Operators' call notes and asides: "caller says she's at fife council", "forgot to say
    # we're swansea council", "we're cardiff by the way", "and wales pls, last one", "her colleague
    # on speaker is council employed, asking same re his pension".
    """ caller callers says saying asks asking asked adds added clarifies confirms mentions
    mentioned wants forgot say now btw tbh way last one q lol correction mistake muddled speaker re
    employed"""
    # Whether the context matters: "if that helps", "does that make a difference", "would a
    # government department be different", "same question", "for context", "would any of that
    # be different for council staff rather than NHS staff".
    """ helps matters matter change changes difference make makes different differently differ
    question context apologies wrong tho though thing things stuff own rather"""
    # How many: "and the two nhs physios?", "a handful coming over from a govt agency".
    """ two three four five six seven eight nine ten few couple handful dozen"""
    # Whose situation it is: "her colleague", "my friend's team", "he's in", "nhs band 5".
    """ colleague colleagues friend friends mate mates husband wife sister brother his her hes
    shes theyre we'd up band grade"""
    # The rest of a place's or body's name: "glasgow city council", "caerphilly county borough".
    """ city county borough district trust trusts""".split())
_WORD = re.compile(r"[a-z0-9']+")
# Misspelt aside words ("diffrence", "colleage"): long words only, and close (ratio 90 of 100).
_TYPO_MIN_LETTERS = 6
_TYPO_SIMILARITY = 90  # "colleges" is not "colleagues", nor "employers" "employees" (89)
_LONG_CONTEXT_ONLY_WORDS = sorted(w for w in _CONTEXT_ONLY_WORDS if len(w) >= _TYPO_MIN_LETTERS)
EXPLANATION_MAX_WORDS = 12  # "We haven't decided on the form yet." is 7
_FIRST_QUESTION = re.compile(r"[^?]*\?")
_SENTENCE = re.compile(r"(?<=[.!;])\s+|\n+")
_QUESTION_WORDS = _ASKS_ANEW | _YES_NO_OPENERS
# "not", "no longer", "isn't", "rather than", "instead of", then at most an article or preposition.
_NEGATED = re.compile(
    r"\b(?:not|no longer|never|isn'?t|aren'?t|wasn'?t|weren'?t|rather than|instead of)\s+"
    r"(?:(?:a|an|the|in|at|for|from|with|on|part of|under)\s+)?$")


# A longer message that re-asks the last question in another context says so: "how about for a
# Welsh council, which kinds of organisation are allowed to run those services there?", "sorry
# got that wrong, we're an NHS trust team not civil servants, who do we go to", "the shadow board
# has just switched to a CIC, who do we deal with for that instead?". With such a sign, and a
# version of the last answer for the context it names (faq `versions`), that version answers,
# unless the message alone clearly asks something else (see _re_asked_version).
_REFERS_BACK = re.compile(r"^\W*(?:(?:and|ok|okay|so|right)\W+){0,2}(?:how|what)\s+about\b|\binstead\b")
# The message's own match must not clearly point elsewhere: it scores the version at least this
# share of its best ("actually, how long must a TUPE consultation last for council staff?" after
# the NHS pension asks about TUPE, not the council pension). Tuning dialogues: 0.6 and 0.7 gave
# 393 of 419, 0.8 392; the stricter of the two best is kept.
REFERS_BACK_SHARE = 0.7


@dataclass
class TurnResult:
    reply: respond.Reply
    slots: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Every "I don't know" sets the `unanswered` slot to the question (or "" when there is
        none, as after "none of these"), whichever action said it: markers (markers.yml) see
        events, not our messages, so this is how they count the same fallbacks as insights."""
        if any((m.custom or {}).get("kind") == "fallback" for m in self.reply.messages):
            self.slots.setdefault("unanswered", str(self.reply.meta.get("query") or "")[:500])


def topic_probs(ranking: Iterable[Mapping[str, Any]] | None) -> dict[str, float]:
    """Topic confidences from Rasa's intent ranking (``ask_pensions`` -> ``pensions``)."""
    out: dict[str, float] = {}
    for item in ranking or ():
        name = str(item.get("name") or "")
        if name.startswith(TOPIC_INTENT_PREFIX) and name[len(TOPIC_INTENT_PREFIX):] in TOPICS:
            out[name[len(TOPIC_INTENT_PREFIX):]] = float(item.get("confidence") or 0.0)
    return out


def negated(text: str, entity: Mapping[str, Any]) -> bool:
    """Whether the words just before an entity deny it ("we're not council", "the lgps not
    teachers pension", "rather than the NHS"): a correction names the old context too."""
    start = entity.get("start")
    return isinstance(start, int) and bool(_NEGATED.search(text[:start].lower()))


def mentioned(entities: Iterable[Mapping[str, Any]] | None, text: str = "", follow_up: bool = False) -> dict[str, str]:
    """Context values the user named in this message: the first value per entity type that the
    message does not deny (in a follow-up that corrects without "meant", the last: "oh sorry i
    put england, we're fife council so scotland"), except that an employer named with social
    care wins over it."""
    out: dict[str, str] = {}
    lowered = text.lower()
    correcting = follow_up and bool(_CORRECTION_OPENER.match(lowered)) and not _CORRECTION.match(lowered)
    for ent in reversed(list(entities or ())) if correcting else entities or ():
        name, value = ent.get("entity"), ent.get("value")
        if name in CONTEXT_SLOTS and isinstance(value, str) and not negated(text, ent):
            # Social care is a service; a council or trust named with it is the employer, and the
            # employer decides pension and transfer rules ("adult social care at the council").
            if name not in out or (name == "sector" and out[name] == SERVICE_SECTOR):
                out[name] = value
    return out


def _context(entities: Iterable[Mapping[str, Any]] | None, slots: Mapping[str, Any], text: str = "",
             follow_up: bool = False) -> Context:
    said = mentioned(entities, text, follow_up)
    denied = frozenset(str(e.get("entity")) for e in entities or ()
                       if e.get("entity") in CONTEXT_SLOTS and negated(text, e)) - set(said)
    remembered = {k: slots[k] for k in CONTEXT_SLOTS
                  if isinstance(slots.get(k), str) and k not in said and k not in denied}
    return Context(said, remembered, denied)


def only_changes_context(text: str, entities: Iterable[Mapping[str, Any]] | None,
                         slots: Mapping[str, Any]) -> bool:
    """Whether the message just names a new context for the previous question."""
    if not isinstance(slots.get("last_query"), str) or not slots.get("last_query"):
        return False
    return _names_only_context(text, entities) or _asks_then_explains(text, entities)


def _offset(entity: Mapping[str, Any], key: str) -> int:
    """An entity's start or end, 0 when a caller left it out or set it to None."""
    value = entity.get(key)
    return value if isinstance(value, int) else 0


def _names_only_context(text: str, entities: Iterable[Mapping[str, Any]] | None) -> bool:
    """Short, names a context, and at most one other word that says anything."""
    words = _WORD.findall(text.lower())
    context = [e for e in entities or () if e.get("entity") in CONTEXT_SLOTS]
    limit = CORRECTION_MAX_WORDS if _CORRECTION.match(text.lower()) else FOLLOW_UP_MAX_WORDS
    if not words or len(words) > limit or not context:
        return False
    named = {w for e in context for w in _WORD.findall(text[_offset(e, "start"):_offset(e, "end")].lower())}
    lowered = text.lower()
    explains = ((_REASKED.search(lowered) or _CORRECTION_OPENER.match(lowered))
                and not _ASKS_ANEW.intersection(words) and not _asks_yes_or_no(lowered))
    extra = REASKED_EXTRA_WORDS if explains else 1
    return len([w for w in words if w not in named and not _context_only(w)]) <= extra


def _asks_yes_or_no(lowered: str) -> bool:
    """Whether a clause of the message is a yes/no question of its own (not a re-ask with "same")."""
    for clause in _CLAUSE.split(lowered):
        opening = [w for w in _WORD.findall(clause)[:3] if w not in _FILLERS][:1]
        if opening and opening[0] in _YES_NO_OPENERS and not _REASKED.search(clause):
            return True
    return False


def _context_only(word: str) -> bool:
    """A word that adds nothing to the question: a stop word, a call-note or aside word (also
    possessive, "my colleague's team", or misspelt, "if that makes any diffrence"), a number."""
    word = word.removesuffix("'s")
    for form in (word, word.replace("'", ""), word.removesuffix("s")):  # "services", "brothers"
        if form in STOPWORDS or form in _CONTEXT_ONLY_WORDS or form.isdigit():
            return True
    return len(word) >= _TYPO_MIN_LETTERS and process.extractOne(
        word, _LONG_CONTEXT_ONLY_WORDS, scorer=fuzz.ratio, score_cutoff=_TYPO_SIMILARITY) is not None


def _asks_then_explains(text: str, entities: Iterable[Mapping[str, Any]] | None) -> bool:
    """"Same for a CIC? We haven't decided on the form yet.": a first sentence that is a
    follow-up question, then only statements (no question mark, no question word first)."""
    first = _FIRST_QUESTION.match(text)
    if not first or first.end() >= len(text.rstrip()):
        return False
    after = text[first.end():]
    if len(_WORD.findall(after)) > EXPLANATION_MAX_WORDS:
        return False
    openers = {(_WORD.findall(sentence.lower()) or [""])[0] for sentence in _SENTENCE.split(after)}
    if "?" in after or openers & _QUESTION_WORDS:
        return False
    inside = [e for e in entities or () if _offset(e, "end") <= first.end()]
    return _names_only_context(text[:first.end()], inside)


def _re_asked_version(kb: KnowledgeBase, matcher: Matcher, text: str, entities: Iterable[Mapping[str, Any]] | None,
                      slots: Mapping[str, Any], result: MatchResult, priors: Mapping[str, float],
                      ctx: Context) -> Entry | None:
    """The last answer's version for the context this message names, when the message says it
    re-asks (a "how about" opener, "instead", a correction's opener, a context it denies), the
    out-of-scope detector does not decline it, and its own match (``result``, made with
    ``priors`` and ``ctx``) scores the version close to its best; otherwise None."""
    previous, last = slots.get("last_query"), slots.get("last_entry")
    if not isinstance(previous, str) or not previous.strip() or not isinstance(last, str):
        return None
    lowered = text.lower()
    # The context as follow_up() will read it, so the version found here is the one it gives.
    again = _context(entities, slots, text, follow_up=True)
    says_so = (_REFERS_BACK.search(lowered) or _CORRECTION_OPENER.match(lowered) or _CORRECTION.match(lowered)
               or again.denied)
    # ...and never for what the out-of-scope detector declines ("how about scotland, who won the football").
    if not says_so or result.out_of_scope >= settings.OOS_PROBABILITY:
        return None
    version = _version(kb, kb.entries.get(last), again)
    if version is None:
        return None
    # The version's own score: from the top five already ranked, else from a full ranking (the
    # scores do not depend on how many candidates are kept).
    ranked = result.candidates
    if all(c.id != version.id for c in ranked):
        ranked = matcher.match(text, priors, ctx, limit=len(kb.entries)).candidates
    own = next((c.score for c in ranked if c.id == version.id), 0.0)
    return version if ranked and own >= REFERS_BACK_SHARE * ranked[0].score else None


def _nation(ctx: Context) -> str | None:
    return ctx.mentioned.get("nation") or ctx.remembered.get("nation")


def _finish(kb: KnowledgeBase, result, ctx: Context, query: str, intent: str) -> TurnResult:
    reply = respond.respond(kb, result, _nation(ctx))
    reply.meta.update({"intent": intent, "query": query[:200]})
    # The context this answer used is the one remembered: Rasa's own slot filling keeps the last
    # value named ("we're in Cardiff, is it the same as the English PSR?" would remember England).
    slots: dict[str, Any] = {"last_query": query[:500], **{k: None for k in ctx.denied}, **ctx.mentioned}
    if reply.entry_id:
        entry = kb.entries[reply.entry_id]
        slots.update({"last_entry": entry.id, "topic": entry.topic, "offered": None})
    else:  # no entry answers last_query, so no version of one may be given for it later
        slots["last_entry"] = None
        if result.band == "clarify":
            slots["offered"] = [c.id for c in result.options()]
    return TurnResult(reply, slots)


def screen(kb: KnowledgeBase, text: str) -> TurnResult | None:
    """The reply a message gets on sight, whatever the NLU said, or None to go on matching:
    manipulation, a question set abroad, a request for a person, one's own pension or job, how
    public bodies are organised.
    One list, so a new check reaches new questions and NLU out-of-scope messages alike."""
    if guard.is_manipulation(text):
        return TurnResult(respond.decline(kb, "manipulation"))
    place = jurisdiction.foreign_place(text)
    if place:
        reply = respond.decline(kb, "outside_uk")
        reply.meta["place"] = place
        return TurnResult(reply)
    if handoff.wants_a_person(text):
        return TurnResult(respond.handoff(kb))
    matter = personal.personal_matter(text)
    reason = f"personal_{matter}" if matter else "public_bodies" if bodies.about_public_bodies(text) else None
    if reason:
        reply = respond.decline(kb, reason)
        reply.meta["query"] = text[:200]
        return TurnResult(reply)
    return None


def question(
    kb: KnowledgeBase,
    text: str,
    ranking: Iterable[Mapping[str, Any]] | None = None,
    entities: Iterable[Mapping[str, Any]] | None = None,
    slots: Mapping[str, Any] | None = None,
    intent: str = "",
    matcher: Matcher | None = None,
    strict: bool = False,
) -> TurnResult:
    """A new question: guard, then match across all topics with the NLU topic as a prior.

    ``strict`` is for when the NLU is unsure what the message is (nlu_fallback): answer only
    a confident match, and say we don't know rather than offer choices.
    """
    slots = slots or {}
    screened = screen(kb, text)
    if screened:
        return screened
    # Checked even when the NLU is unsure (strict): "does it apply to the nhs?" right after an
    # answer is a follow-up by its form, whatever intent the classifier half-believes.
    if only_changes_context(text, entities, slots):
        return follow_up(kb, text, entities, slots, ranking, matcher)
    matcher = matcher or get_matcher(kb)
    ctx = _context(entities, slots, text)
    priors = topic_probs(ranking)
    result = matcher.match(text, priors, ctx)
    if _re_asked_version(kb, matcher, text, entities, slots, result, priors, ctx) is not None:
        return follow_up(kb, text, entities, slots, ranking, matcher, refers_back=True)
    if strict and result.band == "clarify":
        reply = respond.dont_know(kb, result, reason=intent or "nlu_fallback")
        reply.meta.update({"intent": intent, "query": text[:200]})
        return TurnResult(reply, {"last_query": text[:500], "last_entry": None})
    return _finish(kb, result, ctx, text, intent)


def off_topic(
    kb: KnowledgeBase,
    text: str,
    ranking: Iterable[Mapping[str, Any]] | None = None,
    entities: Iterable[Mapping[str, Any]] | None = None,
    slots: Mapping[str, Any] | None = None,
    matcher: Matcher | None = None,
) -> TurnResult:
    """The NLU calls the message out of scope: decline it, unless the knowledge base answers it
    so clearly that the matcher and the out-of-scope detector both disagree with the NLU."""
    slots = slots or {}
    screened = screen(kb, text)
    if screened:
        return screened
    # "forgot to say we're swansea council" names no topic, so the NLU may call it off topic.
    if only_changes_context(text, entities, slots):
        return follow_up(kb, text, entities, slots, ranking, matcher)
    matcher = matcher or get_matcher(kb)
    ctx = _context(entities, slots, text)
    priors = topic_probs(ranking)
    result = matcher.match(text, priors, ctx)
    # "ok what if it was a council service instead, my wife works in the borough council's day
    # services" after the NHS route re-asks it; its aside reads as off topic to the NLU.
    if _re_asked_version(kb, matcher, text, entities, slots, result, priors, ctx) is not None:
        return follow_up(kb, text, entities, slots, ranking, matcher, refers_back=True)
    if (result.band == "answer" and result.top.score >= settings.NLU_OOS_OVERRULED_AT
            and result.out_of_scope < settings.NLU_OOS_OVERRULED_BELOW):
        turn = _finish(kb, result, ctx, text, "out_of_scope")
        turn.reply.meta["nlu_overruled"] = True
        return turn
    reply = respond.decline(kb, "out_of_scope")
    reply.meta.update({"query": text[:200], "out_of_scope": round(result.out_of_scope, 3)})
    return TurnResult(reply)


def follow_up(
    kb: KnowledgeBase,
    text: str,
    entities: Iterable[Mapping[str, Any]] | None = None,
    slots: Mapping[str, Any] | None = None,
    ranking: Iterable[Mapping[str, Any]] | None = None,
    matcher: Matcher | None = None,
    refers_back: bool = False,
) -> TurnResult:
    """"What about council staff?": the previous question again, in the newly named context.
    ``refers_back``: a longer message already found to re-ask it (question(), _re_asked_version)."""
    slots = slots or {}
    previous = slots.get("last_query")
    if not isinstance(previous, str) or not previous.strip():
        return question(kb, text, ranking, entities, slots, "follow_up", matcher)
    if guard.is_manipulation(text):
        return TurnResult(respond.decline(kb, "manipulation"))
    matcher = matcher or get_matcher(kb)
    ctx = _context(entities, slots, text, follow_up=True)
    topic = slots.get("topic")
    # A follow-up nearly always stays in the topic just answered ("and for the LGPS?").
    priors = {topic: FOLLOW_UP_TOPIC_WEIGHT} if isinstance(topic, str) else topic_probs(ranking)
    # The new message's own words count too ("what about the exit debt for council staff?").
    result = matcher.match(f"{previous} {text}", priors, ctx, context_strength=FOLLOW_UP_CONTEXT_STRENGTH,
                           context_cap=FOLLOW_UP_CONTEXT_CAP,
                           use_semantic=False, use_examples=False)
    reasked = refers_back or only_changes_context(text, entities, slots)
    last = kb.entries.get(slots.get("last_entry")) if isinstance(slots.get("last_entry"), str) else None
    version = _version(kb, last, ctx) if reasked else None
    if version is None and reasked and last is not None:
        # The same question in a new context stays in its topic: "is it the same rules for us? im
        # school support staff" after a TUPE answer is not whether schools can spin out.
        same_topic = tuple(c for c in result.candidates if c.entry.topic == last.topic)
        if same_topic and same_topic[0] is not result.candidates[0]:
            others = tuple(c for c in result.candidates if c.entry.topic != last.topic)
            result = replace(result, candidates=same_topic + others,
                             band=band_for(same_topic, result.known_share))
    if version is not None:
        # The knowledge base names the last answer's own entry for this context: that is the
        # question re-asked there, whatever the words of the two questions share.
        chosen = next((c for c in result.candidates if c.id == version.id), None)
        top = Candidate(version, max(c.score for c in result.candidates) if result.candidates else 0.0,
                        chosen.fuzzy if chosen else 0.0, chosen.coverage if chosen else 0.0,
                        chosen.matched if chosen else version.question)
        result = replace(result, band=ANSWER, candidates=(top, *(c for c in result.candidates if c.id != version.id)))
    turn = _finish(kb, result, ctx, previous, "follow_up")
    turn.reply.meta["follow_up_text"] = text[:200]
    if version is not None:
        turn.reply.meta["version_of"] = slots.get("last_entry")
    return turn


def _version(kb: KnowledgeBase, entry: Entry | None, ctx: Context) -> Entry | None:
    """The entry the last answer (``entry``) names as its version for the context this message
    names (a sector also names its pension scheme); none when the values named point to two."""
    if entry is None or not entry.versions:
        return None
    named = set(ctx.mentioned.values())
    if ctx.mentioned.get("sector") in SECTOR_SCHEME and "pension_scheme" not in ctx.mentioned:
        named.add(SECTOR_SCHEME[ctx.mentioned["sector"]])
    targets = {entry.versions[value] for value in named if value in entry.versions}
    target = kb.entries.get(targets.pop()) if len(targets) == 1 else None
    # ...and only if it fits everything else named, and the nation remembered: council staff in
    # Scotland after the NHS pension are not answered with the England-and-Wales LGPS entry.
    nation = ctx.remembered.get("nation")
    fits = named | ({nation} if isinstance(nation, str) else set())
    if target is None or any(_excludes(target, value) for value in fits):
        return None
    return target


def _excludes(entry: Entry, value: str) -> bool:
    """Whether the entry is limited to other values of the value's kind (nation, sector...). An
    entry limited to social care fits the council or NHS body that runs the service ("a Welsh
    council" and children's social care in Wales)."""
    allowed = entry.applies_to.get(CONTEXT_VALUE_KEY.get(value, ""))
    if tuple(allowed or ()) == (SERVICE_SECTOR,) and value in SERVICE_RUNNERS:
        return False
    return bool(allowed) and value not in allowed


def choose(kb: KnowledgeBase, entry_id: str | None, slots: Mapping[str, Any] | None = None) -> TurnResult:
    """A "did you mean" button: answer the chosen entry if we offered it."""
    slots = slots or {}
    offered = slots.get("offered") or []
    if not entry_id or entry_id not in kb.entries or entry_id not in offered:
        return TurnResult(respond.dont_know(kb, None, reason="invalid_choice"))
    entry = kb.entries[entry_id]
    meta = {"band": "answer", "chosen": True, "kb_version": kb.version, "intent": "choose_entry"}
    nation = slots.get("nation") if isinstance(slots.get("nation"), str) else None
    reply = respond.answer_entry(kb, entry, meta, nation)
    return TurnResult(reply, {"last_entry": entry.id, "topic": entry.topic, "offered": None})


def feedback(kb: KnowledgeBase, intent: str, slots: Mapping[str, Any] | None = None) -> TurnResult:
    """Yes/no after an answer is feedback on it; "none of these" after choices is a fallback."""
    slots = slots or {}
    if intent == "deny" and slots.get("offered"):
        turn = TurnResult(respond.dont_know(kb, None, reason="none_of_these"), {"offered": None})
        return turn
    helpful = intent in ("feedback_helpful", "affirm")
    entry_id = slots.get("last_entry") if isinstance(slots.get("last_entry"), str) else None
    reply = respond.feedback_reply(kb, helpful, entry_id)
    return TurnResult(reply)

