"""The matcher: ranks the right entry, bands by confidence, uses topic and context."""
from __future__ import annotations

import pytest

from bot import settings
from bot.match import ANSWER, CLARIFY, UNKNOWN, Context, Matcher, band_for
from bot.text import Normaliser, message_parts, stem
from tests.support.kbfactory import LEXICON, PENSION_ENTRIES, build


@pytest.fixture(scope="module")
def matcher(tmp_path_factory):
    return Matcher(build(tmp_path_factory.mktemp("kb"), PENSION_ENTRIES, LEXICON))


def test_exact_question_is_answered(matcher):
    result = matcher.match("What is a community interest company?")
    assert result.top.id == "governance-sample"
    assert result.band == ANSWER


@pytest.mark.parametrize("text,want", [
    ("wat is a cic", "governance-sample"),
    ("how many days notice for ELI", "tupe-sample"),
    ("can i keep my nhs pensoin after we spin out", "pensions-sample"),
    ("keep council pension after spinning out", "pensions-lgps-keep"),
    ("section 33 reserved contract", "procurement-sample"),
])
def test_typos_acronyms_and_synonyms(matcher, text, want):
    assert matcher.match(text).top.id == want


def test_nonsense_is_unknown(matcher):
    assert matcher.match("what time does the football start tonight").band == UNKNOWN
    assert matcher.match("").band == UNKNOWN


def test_long_message_with_buried_question(matcher):
    text = ("Hi, I work in a community physio team in an NHS trust and there are about forty of us. "
            "Management have floated the idea of a social enterprise and people are nervous. "
            "My main question is whether I can keep my NHS pension after the spin-out, as I'm 52. Thanks")
    assert matcher.match(text).top.id == "pensions-sample"


def test_context_named_now_picks_the_sector_entry(matcher):
    text = "can i keep my pension after a spin out"
    nhs = matcher.match(text, context=Context(mentioned={"sector": "nhs"}))
    council = matcher.match(text, context=Context(mentioned={"sector": "local_government"}))
    civil = matcher.match(text, context=Context(mentioned={"pension_scheme": "pcsps"}))
    assert (nhs.top.id, council.top.id, civil.top.id) == (
        "pensions-sample", "pensions-lgps-keep", "pensions-civil-service-keep")


def test_remembered_context_never_penalises(matcher):
    # Said earlier: NHS. Asking now about LGPS exit debt must still find it.
    result = matcher.match("lgps cessation debt", context=Context(remembered={"sector": "nhs"}))
    assert result.top.id == "pensions-exit-debt"


def test_topic_prior_breaks_ties(matcher):
    plain = matcher.match("spin out")
    with_prior = matcher.match("spin out", topic_probs={"process": 1.0})
    assert with_prior.top.id == "process-sample"
    assert with_prior.top.score >= plain.top.score


def test_bands_follow_the_thresholds(matcher):
    top = matcher.match("What is a community interest company?").candidates
    assert band_for(top) == ANSWER
    close = matcher.match("pension spin out").candidates
    assert band_for(close) in (CLARIFY, ANSWER)
    assert settings.CLARIFY_SCORE < settings.ANSWER_SCORE


def test_candidates_are_ranked_and_limited(matcher):
    result = matcher.match("pension", limit=4)
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True) and len(scores) == 4
    assert result.runner_up is result.candidates[1]


def test_normaliser_uses_lexicon_longest_first():
    norm = Normaliser((("lgps", "local government pension scheme", "local government pension"),))
    assert norm.canonical("The Local Government Pension Scheme!") == "the lgps"
    assert norm.tokens("Can I transfer my pensions?") == ["transfer", "pension"]
    assert stem("transferring") == "transferr" and stem("class") == "class"


def test_examples_are_matched_and_can_be_left_out(matcher):
    """A labelled example is matched like a phrasing; a follow-up leaves the examples out."""
    import dataclasses

    base = matcher.kb
    entry = next(iter(base.entries.values()))
    example = "our whole crew is heading out of the public sector in spring what happens next"
    with_example = dataclasses.replace(
        base, entries={**base.entries, entry.id: dataclasses.replace(entry, examples=(example,))},
        version=base.version + "+example")
    m = Matcher(with_example)
    assert m.match(example, use_semantic=False).top.fuzzy == 100
    assert m.match(example, use_semantic=False, use_examples=False).candidates[0].fuzzy < 100


@pytest.mark.parametrize("text", ["pensions", "our pension", "Pension?"])
def test_a_bare_topic_word_gets_a_choice_not_an_answer(matcher, text):
    """One word that several entries use names a topic: we offer choices rather than guess."""
    result = matcher.match(text)
    assert sum("pension" in own for own in matcher._own_tokens) >= 2
    assert result.band == CLARIFY
    assert len(result.options()) >= 1


def test_a_one_word_phrasing_is_still_answered(matcher):
    """The bare-term rule stands aside when the word is itself close to a phrasing (an acronym
    entry such as "ELI"), and for any message of two or more content words."""
    assert matcher.match("ELI").top.id == "tupe-sample"
    assert matcher.match("ELI").band == ANSWER
    assert matcher.match("keep council pension").band == ANSWER


@pytest.mark.parametrize("text,band", [
    ("pensions", CLARIFY), ("our VAT", CLARIFY), ("lgps", CLARIFY), ("procurement", CLARIFY),
    ("what was MyCSP", ANSWER),  # one entry owns the word by a wide lead
    ("tupe", ANSWER),  # itself a phrasing
    ("lgps exit debt", ANSWER),  # more than one word
])
def test_bare_terms_on_the_real_knowledge_base(real_matcher, text, band):
    assert real_matcher.match(text).band == band


@pytest.fixture(scope="module")
def real_matcher():
    from pathlib import Path

    from bot import kb

    return Matcher(kb.load(Path(__file__).resolve().parent.parent / "faq"))


def test_how_many_asks_for_a_count_not_a_definition(real_matcher):
    """Without "many" the message was the bare "psm" of "what is a psm" (bot/text.py)."""
    norm = Normaliser()
    assert "many" in norm.tokens("how many mutuals") and "much" in norm.tokens("how much does it cost")
    assert real_matcher.match("how many public service mutuals are there").top.id == "process-how-many-mutuals"
    assert real_matcher.match("what is a public service mutual").top.id == "eligibility-what-is-a-psm"


def test_message_parts_split_sentences_and_long_runs():
    # a fragment under four words joins the sentence after it
    assert message_parts("I work nights on the ward. Ok. Will I keep my NHS pension after we spin out?") == [
        "I work nights on the ward.", "Ok. Will I keep my NHS pension after we spin out?"]
    run = " ".join(f"w{i}" for i in range(50))  # no full stops: cut into overlapping 20-word pieces
    parts = message_parts(run)
    assert parts[0].split() == [f"w{i}" for i in range(20)] and parts[-1].split()[-1] == "w49"
    assert all(len(p.split()) == 20 for p in parts)
    assert message_parts("Short one.") == ["Short one."]


STORY = ("My daughter is getting married in Spain next summer and we are saving up for the flights, "
         "the dress and a hotel for the whole family, which is costing a fortune. "
         "Will I keep my NHS pension after our team spins out into a social enterprise?")


def test_long_messages_are_judged_by_their_most_in_scope_sentence(matcher, monkeypatch):
    """Above PART_WORDS words, the out-of-scope probability is the lowest of the whole
    message and its sentences; below it, or with the setting off, the whole message alone."""
    from bot.embed import encoder

    whole, *parts = matcher._oos.probabilities(encoder().encode([STORY, *message_parts(STORY)]))
    monkeypatch.setattr(settings, "NLU_OOS_OVERRULED_BELOW", 0.0)  # bars under which the sentences are
    monkeypatch.setattr(settings, "OOS_PROBABILITY", 0.0)  # spared (the next test) are set to zero
    monkeypatch.setattr(settings, "PART_WORDS", 0)
    assert matcher.match(STORY).out_of_scope == pytest.approx(whole, abs=1e-6)
    monkeypatch.setattr(settings, "PART_WORDS", 20)
    assert matcher.match(STORY).out_of_scope == pytest.approx(min(whole, *parts), abs=1e-6)
    assert min(parts) < whole  # the pension sentence reads as ours; the wedding does not
    monkeypatch.setattr(settings, "PART_WORDS", 200)  # the story is shorter than that
    assert matcher.match(STORY).out_of_scope == pytest.approx(whole, abs=1e-6)


def test_sentences_are_not_encoded_when_no_decision_could_change(matcher, monkeypatch):
    """A long message the detector already puts below both of its bars is not split: a lower
    figure from one sentence could neither decline it nor stop it overruling the NLU."""
    import bot.match as match_module
    from bot.embed import encoder

    whole = float(matcher._oos.probabilities(encoder().encode([STORY]))[0])
    assert 0.0 < whole < 1.0
    calls: list[str] = []
    real = match_module._part_vectors
    monkeypatch.setattr(match_module, "_part_vectors", lambda text: calls.append(text) or real(text))
    monkeypatch.setattr(settings, "PART_WORDS", 20)
    for bar, split in ((whole / 2, True), ((whole + 1) / 2, False)):
        for name in ("OOS_PROBABILITY", "NLU_OOS_OVERRULED_BELOW"):
            monkeypatch.setattr(settings, name, bar)
        calls.clear()
        got = matcher.match(STORY).out_of_scope
        assert calls == ([STORY] if split else [])
        assert (got < whole) if split else got == pytest.approx(whole, abs=1e-6)
    # either bar at or below the message's figure is enough for the sentences to count
    for low, high in (("NLU_OOS_OVERRULED_BELOW", "OOS_PROBABILITY"), ("OOS_PROBABILITY", "NLU_OOS_OVERRULED_BELOW")):
        monkeypatch.setattr(settings, low, whole / 2)
        monkeypatch.setattr(settings, high, (whole + 1) / 2)
        calls.clear()
        assert matcher.match(STORY).out_of_scope < whole and calls == [STORY]


def test_a_follow_up_stays_in_the_topic_however_many_labels_an_entry_has(real_matcher):
    """"forgot to say we're swansea council" after "who do we contact first": council, LGPS and
    Wales all fit the LGPS entries, and uncapped their labels (3 x 10 points, times the
    follow-up's strength) outranked every support entry; capped at one label's worth, the
    topic just discussed decides."""
    from bot import turn

    base = real_matcher.kb
    slots = {"last_query": "whos the best person to get in touch with first about turning our service into a mutual",
             "topic": "support", "last_entry": "support-who-to-contact-first"}
    text = "forgot to say we're swansea council"
    entities = [{"entity": "nation", "value": "wales", "start": 20, "end": 27},
                {"entity": "sector", "value": "local_government", "start": 28, "end": 35}]
    result = turn.follow_up(base, text, entities, slots, matcher=real_matcher)
    assert base.entries[result.reply.entry_id].topic == "support"
    lgps = base.entries["pensions-lgps-keep-council-pension"]
    ctx = Context({"sector": "local_government", "nation": "wales"})
    assert real_matcher._context_bonus(lgps, ctx) == 30.0
    assert real_matcher._context_bonus(lgps, ctx, cap=10.0) == 10.0
    # Penalties are never capped: an entry limited to elsewhere still loses its points.
    scotland = base.entries["pensions-scotland-lgps"]
    assert real_matcher._context_bonus(scotland, ctx, cap=10.0) < 0


def test_a_follow_up_gets_the_entry_the_knowledge_base_names_for_that_context(real_matcher):
    """The words of "who do we contact first" and of the Welsh support entry share little, so
    the knowledge base says which entry is its Welsh version (versions); a follow-up that only
    names the nation gets that entry, and one that asks something new is matched as ever."""
    from bot import turn

    base = real_matcher.kb
    first = base.entries["support-who-to-contact-first"]
    assert first.versions["wales"] == "support-wales"
    slots = {"last_query": "whos the best person to get in touch with first about turning our service into a mutual",
             "topic": "support", "last_entry": first.id}
    text = "forgot to say we're swansea council"
    entities = [{"entity": "nation", "value": "wales", "start": 20, "end": 27},
                {"entity": "sector", "value": "local_government", "start": 28, "end": 35}]
    wales = turn.follow_up(base, text, entities, slots, matcher=real_matcher)
    assert wales.reply.entry_id == "support-wales"
    assert wales.reply.meta["version_of"] == first.id and wales.reply.meta["band"] == "answer"
    assert wales.slots["last_query"] == slots["last_query"]  # the question itself is remembered
    # The Welsh entry names its own versions, so the next nation follows on from it.
    text = "and my friends team up in aberdeen?"
    scotland = turn.follow_up(base, text, [{"entity": "nation", "value": "scotland", "start": 26, "end": 34}],
                              {**slots, **wales.slots}, matcher=real_matcher)
    assert scotland.reply.entry_id == "support-scotland"
    # A new question that happens to name a nation is not a re-ask: no version is forced.
    text = "and in wales which body registers a co-operative society for us?"
    asked = turn.follow_up(base, text, [{"entity": "nation", "value": "wales", "start": 7, "end": 12}],
                           slots, matcher=real_matcher)
    assert "version_of" not in asked.reply.meta
    # An entry without a version for the nation named keeps the matcher's choice.
    slots = {"last_query": "who can use the community right to challenge", "topic": "eligibility",
             "last_entry": "eligibility-right-to-challenge-who"}
    text = "and in wales?"
    same = turn.follow_up(base, text, [{"entity": "nation", "value": "wales", "start": 7, "end": 12}],
                          slots, matcher=real_matcher)
    assert "version_of" not in same.reply.meta
    # Sectors and schemes too: a sector names its scheme, and both point to the council pension.
    slots = {"last_query": "caller is community nurse, trust is spinning her team out. does she keep nhs pension",
             "topic": "pensions", "last_entry": "pensions-nhs-keep-nhsps"}
    text = "ok her colleague on speaker is council employed not trust, asking same re his pension"
    start = text.index("council")
    council = turn.follow_up(base, text, [{"entity": "sector", "value": "local_government", "start": start,
                                           "end": start + 7}], slots, matcher=real_matcher)
    assert council.reply.entry_id == "pensions-lgps-keep-council-pension"
    # A version limited to elsewhere is not forced: council staff in Scotland are not answered
    # with the England-and-Wales LGPS entry because the NHS pension names it for the council.
    text = "ok her colleague is at glasgow city council, asking same re his pension"
    scots = turn.follow_up(base, text, [_ent_at(text, "council", "sector", "local_government"),
                                        _ent_at(text, "glasgow", "nation", "scotland")], slots, matcher=real_matcher)
    assert "version_of" not in scots.reply.meta
    assert scots.reply.entry_id != "pensions-lgps-keep-council-pension"
    # A question answered with no entry leaves none to give a version of later.
    unanswered = turn.question(base, "pension", slots=slots, matcher=real_matcher)
    assert unanswered.reply.entry_id is None and "last_entry" in unanswered.slots
    assert unanswered.slots["last_entry"] is None


def test_a_follow_up_that_only_changes_the_context_stays_in_its_topic(real_matcher):
    """"is it the same rules for us" from school support staff after a TUPE answer re-asks the
    TUPE question; the schools label alone must not carry it to whether schools can spin out."""
    from bot import turn

    base = real_matcher.kb
    slots = {"last_query": "what do the employers have to tell us before the transfer, do they have to consult us",
             "topic": "tupe", "last_entry": "tupe-inform-consult"}
    text = "im school support staff at an academy, is it the same rules for us"
    entities = [_ent_at(text, "school", "sector", "schools"), _ent_at(text, "academy", "sector", "schools")]
    result = turn.follow_up(base, text, entities, slots, matcher=real_matcher)
    assert result.reply.entry_id == "tupe-inform-consult"


def test_a_longer_message_that_says_it_re_asks_gets_the_version(real_matcher):
    """Past the follow-up word limits, a message that says it re-asks ("how about", "instead", a
    correction, a context denied) gets the last answer's version for the context it names,
    unless its own words clearly ask something else."""
    from bot import turn

    base = real_matcher.kb
    slots = {"last_query": "We're leaning towards a co-operative society. Which body actually registers it?",
             "topic": "support", "last_entry": "support-society-registration", "legal_form": "co_operative"}
    text = "hang on, the shadow board has just switched to a CIC, who do we deal with for that instead?"
    support = [{"name": "ask_support", "confidence": 0.74}, {"name": "ask_process", "confidence": 0.44}]  # the NLU's
    cic = turn.question(base, text, support, entities=[_ent_at(text, "CIC", "legal_form", "cic")], slots=slots,
                        intent="ask_support", matcher=real_matcher)
    assert cic.reply.entry_id == "support-cic-registration"
    assert cic.reply.meta["version_of"] == "support-society-registration"
    # Without a sign that it re-asks, the same words are a new question matched as ever.
    plain = "the shadow board has just switched to a CIC, who do we deal with for that?"
    new = turn.question(base, plain, support, entities=[_ent_at(plain, "CIC", "legal_form", "cic")], slots=slots,
                        intent="ask_support", matcher=real_matcher)
    assert "version_of" not in new.reply.meta
    # A sign, but a clear question of its own elsewhere: not re-asked.
    slots = {"last_query": "can i keep my nhs pension if our team spins out", "topic": "pensions",
             "last_entry": "pensions-nhs-keep-nhsps", "sector": "nhs"}
    text = "what about the TUPE consultation rules for council staff, how long must it last?"
    tupe = turn.question(base, text, entities=[_ent_at(text, "council", "sector", "local_government")],
                         slots=slots, intent="ask_tupe", matcher=real_matcher)
    assert (tupe.reply.entry_id or "").startswith("tupe-")
    # A correction's opener before a new question is no re-ask either.
    text = "Actually, different question: how long must a TUPE consultation last for council staff?"
    actually = turn.question(base, text, entities=[_ent_at(text, "council", "sector", "local_government")],
                             slots=slots, intent="ask_tupe", matcher=real_matcher)
    assert (actually.reply.entry_id or "").startswith("tupe-") and "version_of" not in actually.reply.meta
    # Without a question remembered there is nothing to re-ask (and no loop through follow_up).
    alone = turn.question(base, text, entities=[_ent_at(text, "council", "sector", "local_government")],
                          slots={"last_entry": "pensions-nhs-keep-nhsps"}, intent="ask_tupe", matcher=real_matcher)
    assert "version_of" not in alone.reply.meta
    # Children's social care in Wales is a council's service: "a Welsh council" does not rule out
    # the Welsh entry, which is limited to the social care sector.
    slots = {"last_query": "Could a staff mutual take over children's social care functions from an English council?",
             "topic": "governance", "last_entry": "governance-childrens-social-care-england",
             "sector": "local_government", "nation": "england"}
    text = "How about for a Welsh council, which kinds of organisation are allowed to run those services there?"
    wales = turn.question(base, text, entities=[_ent_at(text, "Welsh", "nation", "wales"),
                                                _ent_at(text, "council", "sector", "local_government")],
                          slots=slots, intent="ask_eligibility", matcher=real_matcher)
    assert wales.reply.entry_id == "governance-wales-restricted-childrens-services"
    # The NLU may call a re-ask with an aside off topic; the version answers it all the same, but
    # not what the out-of-scope detector declines.
    slots = {"last_query": "what are the steps to spin out of the nhs", "topic": "process",
             "last_entry": "process-from-nhs", "sector": "nhs"}
    text = "ok what if it was a council service instead, my wife works in the borough councils day services"
    council = turn.off_topic(base, text, entities=[_ent_at(text, "council", "sector", "local_government")],
                             slots=slots, matcher=real_matcher)
    assert council.reply.entry_id == "process-from-council"
    slots = {"last_query": "who should we contact first about spinning out", "topic": "support",
             "last_entry": "support-who-to-contact-first"}
    text = "how about scotland, who won the football"
    football = turn.off_topic(base, text, entities=[_ent_at(text, "scotland", "nation", "scotland")], slots=slots,
                              matcher=real_matcher)
    assert football.reply.entry_id is None and football.reply.meta.get("band") == "declined"


def test_a_hedge_word_does_not_pick_the_entry_whose_term_holds_it(real_matcher):
    """"broadly" hedges the question; it is not the "broadly comparable" pension scheme, which
    is still found by its term."""
    hedged = real_matcher.match("and broadly what do the unions make of mutuals?")
    assert "pensions-broadly-comparable" not in [c.id for c in hedged.candidates[:2]]
    assert {c.id for c in hedged.candidates[:2]} == {"support-trade-unions", "tupe-union-views"}
    assert real_matcher.match("what is a broadly comparable scheme").top.id == "pensions-broadly-comparable"


def _ent_at(text: str, word: str, entity: str, value: str) -> dict:
    start = text.index(word)
    return {"entity": entity, "value": value, "start": start, "end": start + len(word)}


def test_an_operators_call_note_is_judged_by_the_question_inside_it(real_matcher):
    """"caller asks" wrapped round a plain question made the out-of-scope detector decline it
    (0.03 -> 0.87); the caller and the reporting words are left out when judging."""
    from bot.text import without_call_note

    assert without_call_note("caller asks are there consultancies who can guide them through it") == \
        "are there consultancies who can guide them through it"
    assert without_call_note("caller's colleague now on the line, she's nhs. asks how it works for them") == \
        "colleague now on the line, she's nhs. how it works for them"
    unchanged = "what if the council asks us to bid against a private firm"
    assert without_call_note(unchanged) == unchanged
    assert without_call_note("caller") == "caller"  # nothing left: the message as it was
    note = real_matcher.match("caller asks are there consultancies who can guide them through it")
    assert note.band == "answer" and note.top.id == "support-spin-out-consultancies"
    assert note.out_of_scope < 0.5
