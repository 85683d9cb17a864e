"""The "naive 2011 answer" traps of DOMAIN.md section (j): each question goes through the
trained assistant, must be answered by the entry that handles it, and the answer it reads out
must state the current rule and not the out-of-date one."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.evaluation import outcome_of


@dataclass(frozen=True)
class Trap:
    number: int  # DOMAIN.md (j) item
    ask: str
    entry: str
    says: tuple[str, ...]  # all must appear in the answer text (case-insensitive)
    never: tuple[str, ...] = ()  # none may appear


TRAPS = (
    Trap(1, "will they put us in a broadly comparable pension scheme when we leave the nhs",
         "pensions-broadly-comparable", ("october 2013", "new fair deal", "2007 best value direction")),
    Trap(2, "lgps already has new fair deal right?", "pensions-lgps-not-new-fair-deal",
         ("no", "2016", "2019", "2007 best value direction")),
    Trap(3, "can the council give us a 3 year reserved contract under regulation 77",
         "procurement-regulation-77", ("24 february 2025", "section 33", "5 years", "3-year bar")),
    Trap(4, "do nhs community contracts still follow the public contracts regulations 2015",
         "procurement-nhs-psr", ("provider selection regime", "1 january 2024", "out of date")),
    Trap(5, "does the right to provide guarantee us the contract", "procurement-right-to-provide",
         ("no", "not a live route", "open procurement")),
    Trap(5, "what was the right to provide?", "procurement-right-to-provide",
         ("30 march 2011", "policy rights", "never guaranteed")),
    Trap(5, "can we still use the nhs right to request", "procurement-right-to-request",
         ("closed", "30 september 2010", "provider selection regime")),
    Trap(6, "is the mutuals information service 0845 number still working", "support-old-mutuals-hotline",
         ("closed", "out of date", "mutuals@culture.gov.uk")),
    Trap(7, "does the two tier code protect staff the mutual hires later", "tupe-two-tier-code-withdrawn",
         ("withdrawn", "13 december 2010", "employment rights act 2025")),
    Trap(8, "how many days before the transfer is employee liability info due", "tupe-employee-liability-information",
         ("28 days", "1 may 2014"), ("due 14 days",)),
    Trap(8, "do we have to elect reps for tupe consultation if we're a small employer",
         "tupe-small-employer-direct-consultation", ("1 july 2024", "fewer than 50", "fewer than 10")),
    Trap(9, "selling to an employee ownership trust is capital gains tax free isn't it", "finance-eot-cgt-relief",
         ("not any more", "26 november 2025", "50%")),
    Trap(10, "how do we register as an industrial and provident society", "governance-industrial-provident-society",
         ("1 august 2014", "co-operative society", "community benefit society")),
    Trap(11, "can we get a loan from big society capital", "finance-big-society-capital",
         ("better society capital", "intermediaries")),
    Trap(12, "can our cic just exist to benefit the staff who own it", "governance-cic-community-interest-test",
         ("community interest test", "only the employees")),
    Trap(13, "is the wales co-operative centre still the place to go in wales", "support-wales",
         ("cwmpas", "2022")),
    Trap(14, "are procurement thresholds before or after vat now", "procurement-thresholds",
         ("include vat", "£663,540")),
)


@pytest.mark.parametrize("trap", TRAPS, ids=[f"{t.number}:{t.entry}" for t in TRAPS])
def test_trap_answered_the_current_way(assistant, trap: Trap):
    sender = f"trap-{trap.number}-{trap.entry}"
    messages = assistant.say(trap.ask, sender)
    outcome = outcome_of(messages)
    assert outcome.kind == "answer" and outcome.entry_id == trap.entry, (
        f"{trap.ask!r}: want {trap.entry}, got {outcome.kind} {outcome.entry_id or outcome.ranked[:3]}")
    text = " ".join(str(m.get("text") or "") for m in messages).lower()
    missing = [p for p in trap.says if p.lower() not in text]
    assert not missing, f"answer to {trap.ask!r} lacks {missing}"
    wrong = [p for p in trap.never if p.lower() in text]
    assert not wrong, f"answer to {trap.ask!r} repeats the out-of-date claim {wrong}"
