"""Write eval/corpus/sanitizer_heldout.jsonl: new templates and new name pools, written after the
recognizers were tuned on sanitizer_sentences.jsonl and never used for tuning (an honest check)."""

from __future__ import annotations

import json
import random

import make_sanitizer_set as base

base.R = random.Random(2025)
base.FIRST = str.split(
    "Anneliese Bartholomew Cosima Dagny Emeka Florentyna Gunnar Hoang Ifeoma Jolene Kwame Ludmila "
    "Mateus Nnamdi Orla Priyanka Radomir Saoirse Thaddeus Ulrike Vesna Wilhelmina Xiadani Yoshiro"
)
base.LAST = str.split(
    "Achterberg Brannigan Cavanaugh Dabrowski Ekwueme Fairweather Grzelak Hakobyan Ilunga Jaramillo "
    "Kristiansen Lowenthal Mbeki Nakashima Oyelaran Papadakis Radulescu Szymanski Trevelyan"
)
base.CITIES = ["Lewiston", "Montpelier", "Waterbury", "Fitchburg", "Keene", "Augusta", "Rutland", "Danbury"]
TEMPLATES = [
    "Note to self: {PERSON} from the allergy clinic called about the refill on {DATE}.",
    "The claim form needs my SSN ({SSN}) and the member number {POLICY}.",
    "Reschedule with {PERSON}; new slot is {DATE}, call {PHONE} to confirm.",
    "Wire the deposit to {ACCOUNT} before we fly to {LOCATION}.",
    "{PERSON} emailed from {EMAIL} about the results portal {URL}.",
    "Patient {MRN}, DOB {DOB}, seen by {PERSON} for follow-up.",
    "Our old place at {ADDRESS} sold last month.",
    "Suspicious sign-in from {IP}; the card {CREDIT_CARD} was frozen.",
    "Dinner at {PERSON}'s house in {LOCATION} on {DATE}.",
    "Tell {PERSON} the pharmacy fax is {PHONE}.",
]

if __name__ == "__main__":
    rows = [base.fill(TEMPLATES[i % len(TEMPLATES)]) for i in range(120)]
    out = base.OUT.with_name("sanitizer_heldout.jsonl")
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} sentences, {sum(len(r['spans']) for r in rows)} spans -> {out}")
