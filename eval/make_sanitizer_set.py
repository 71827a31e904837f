"""Write eval/corpus/sanitizer_sentences.jsonl: sentences with labeled private spans (deterministic).

Names and identifiers here are drawn from pools disjoint from the corpus person, so the set measures
the sanitizer, not memorized values. Each line: {"text": str, "spans": [[start, end, type], ...]}.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from assistant.pipeline.sanitizer import MONTHS

OUT = Path(__file__).resolve().parent / "corpus" / "sanitizer_sentences.jsonl"
R = random.Random(99)
FIRST = [
    "Aisha",
    "Bruno",
    "Camila",
    "Dmitri",
    "Esther",
    "Farid",
    "Greta",
    "Hiroshi",
    "Ingrid",
    "Jamal",
    "Katarina",
    "Lorenzo",
    "Mei",
    "Nikolai",
    "Olga",
    "Pedro",
    "Quinn",
    "Rosa",
    "Sanjay",
    "Tamsin",
    "Umar",
    "Valeria",
    "Wendell",
    "Ximena",
    "Yusuf",
    "Zofia",
    "Agnes",
    "Boris",
    "Chloe",
    "Desmond",
    "Elif",
    "Fergus",
    "Gwen",
    "Hamid",
    "Isla",
    "Joaquin",
    "Kavya",
    "Leon",
    "Marisol",
    "Nadia",
    "Oren",
    "Paloma",
    "Rashid",
    "Sigrid",
    "Tobias",
    "Uma",
    "Vikram",
    "Wanda",
    "Yara",
    "Zane",
]
LAST = [
    "Abernathy",
    "Bergstrom",
    "Castellanos",
    "Dubois",
    "Eriksen",
    "Fontaine",
    "Gallagher",
    "Hollis",
    "Iyer",
    "Jankowski",
    "Kowalczyk",
    "Lindgren",
    "Moreau",
    "Nakamura",
    "Okonkwo",
    "Petrov",
    "Quintero",
    "Rasmussen",
    "Sorensen",
    "Thornbury",
    "Underwood",
    "Vasquez",
    "Whitaker",
    "Xu",
    "Yamamoto",
    "Zielinski",
    "Adeyemi",
    "Baptiste",
    "Chaudhry",
    "Delacroix",
    "Esposito",
    "Fitzgerald",
    "Gonzaga",
    "Halvorsen",
    "Ibarra",
    "Jovanovic",
    "Kaplan",
    "Lachance",
    "Mahmoud",
    "Novak",
]
CITIES = [
    "Worcester",
    "Providence",
    "Portland",
    "Hartford",
    "Burlington",
    "Albany",
    "Springfield",
    "New Haven",
    "Concord",
    "Lowell",
    "Nashua",
    "Bangor",
    "Pittsfield",
    "Salem",
    "Quincy",
]
STREETS = [
    "Maple Avenue",
    "Oak Street",
    "Chestnut Hill Road",
    "Beacon Street",
    "Elm Court",
    "Prospect Drive",
    "Riverside Avenue",
    "Winter Street",
    "Highland Road",
    "Pleasant Street",
]


def luhn_card() -> str:
    digits = [4] + [R.randint(0, 9) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = d * 2 if i % 2 == 0 else d
        total += d - 9 if d > 9 else d
    digits.append((10 - total % 10) % 10)
    s = "".join(map(str, digits))
    sep = R.choice([" ", "-", ""])
    return sep.join(s[i : i + 4] for i in range(0, 16, 4))


def gen(kind: str) -> str:
    n = R.randint
    if kind == "PERSON":
        return f"{R.choice(FIRST)} {R.choice(LAST)}"
    if kind == "LOCATION":
        return R.choice(CITIES)
    if kind == "ADDRESS":
        return f"{n(2, 999)} {R.choice(STREETS)}, {R.choice(CITIES)}"
    if kind in ("DATE", "DOB"):
        y, m, d = n(1940, 2025), n(1, 12), n(1, 28)
        return R.choice(
            [
                f"{MONTHS[m - 1]} {d}, {y}",
                f"{m:02d}/{d:02d}/{y}",
                f"{y}-{m:02d}-{d:02d}",
                f"{d} {MONTHS[m - 1]} {y}",
            ]
        )
    if kind == "PHONE":
        a, b, c = n(201, 989), n(200, 999), n(0, 9999)
        return R.choice([f"({a}) {b}-{c:04d}", f"{a}-{b}-{c:04d}", f"+1 {a} {b} {c:04d}", f"{a}.{b}.{c:04d}"])
    if kind == "EMAIL":
        domain = R.choice(["gmail.com", "outlook.com", "proton.me", "example.org"])
        return f"{R.choice(FIRST).lower()}.{R.choice(LAST).lower()}{n(1, 99)}@{domain}"
    if kind == "SSN":
        a, b, c = n(100, 665), n(10, 99), n(1000, 9999)
        return R.choice([f"{a}-{b}-{c}", f"{a} {b} {c}"])
    if kind == "MRN":
        return R.choice(
            [f"MRN {n(1000000, 99999999)}", f"MRN: {n(100000, 9999999):08d}", f"MRN#{n(100000, 9999999)}"]
        )
    if kind == "ACCOUNT":
        return R.choice([f"{n(1000, 9999)}-{n(1000, 9999)}-{n(1000, 9999)}", f"{n(10**9, 10**12)}"])
    if kind == "POLICY":
        return R.choice(
            [
                f"{R.choice(['BHL', 'AXC', 'QMT'])}-{n(10**7, 10**8 - 1)}",
                f"W{n(10**8, 10**9 - 1)}",
                f"XK{n(1, 9)}-{n(100, 999)}-{n(100, 999)}",
            ]
        )
    if kind == "CREDIT_CARD":
        return luhn_card()
    if kind == "IP":
        return f"{n(11, 223)}.{n(0, 255)}.{n(0, 255)}.{n(1, 254)}"
    if kind == "URL":
        host = f"{R.choice(['portal', 'my', 'records'])}.{R.choice(LAST).lower()}-health.org"
        return f"https://{host}/p/{n(100, 9999)}"
    raise ValueError(kind)


TEMPLATES = [
    "Please call {PERSON} at {PHONE} before {DATE}.",
    "{PERSON} said the lab results will be mailed to {ADDRESS}.",
    "My social security number is {SSN}, please keep it safe.",
    "The hospital lists me under {MRN} since my visit on {DATE}.",
    "Transfer the deposit from account {ACCOUNT} to the landlord.",
    "Insurance policy {POLICY} covers the physiotherapy for {PERSON}.",
    "The card {CREDIT_CARD} was declined at the pharmacy.",
    "There was a login from {IP} to {URL} last night.",
    "Date of birth: {DOB}. Referring physician: Dr. {PERSON}.",
    "We are driving to {LOCATION} to see {PERSON} next weekend.",
    "Send the scanned letter to {EMAIL} and copy {PERSON}.",
    "Dr. {PERSON} moved her practice to {ADDRESS}.",
    "My member ID is {POLICY} and my date of birth is {DOB}.",
    "Text me at {PHONE} when you land in {LOCATION}.",
    "{PERSON} and {PERSON} are coming for dinner on {DATE}.",
    "Reset link for the patient portal {URL} was sent to {EMAIL}.",
    "The refund goes to checking account {ACCOUNT} within five days.",
    "Ask {PERSON} whether the MRI on {DATE} needs a referral.",
    "SSN {SSN}, MRN {MRN}, policy {POLICY}.",
    "I met {PERSON} at the clinic in {LOCATION} yesterday.",
    "Her new address is {ADDRESS}; her phone is {PHONE}.",
    "Remind {PERSON} that the card ending in the number {CREDIT_CARD} expires soon.",
    "The router at {IP} keeps dropping the connection.",
    "Grandpa {PERSON} was born on {DOB} in {LOCATION}.",
    "Forward the invoice from {EMAIL} to {PERSON} by {DATE}.",
]


def fill(template: str) -> dict:
    text, spans, pos = "", [], 0
    for m in re.finditer(r"\{([A-Z_]+)\}", template):
        text += template[pos : m.start()]
        value = gen(m.group(1))
        spans.append([len(text), len(text) + len(value), m.group(1)])
        text += value
        pos = m.end()
    return {"text": text + template[pos:], "spans": spans}


if __name__ == "__main__":
    rows = [fill(TEMPLATES[i % len(TEMPLATES)]) for i in range(250)]
    OUT.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} sentences, {sum(len(r['spans']) for r in rows)} spans")
