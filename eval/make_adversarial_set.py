"""Write eval/corpus/adversarial.jsonl: questions a new user would type, built to break a sanitizer.

Own templates and value pools (not the tests', not the tuned sets'): identifiers from 10 countries,
names of many cultures in lower case, upper case and with titles or kinship cues, organisations,
schools, employers, small places, street addresses, and declared private terms written with spelling
tricks (hyphen, dot, zero-width space, Cyrillic look-alike, full-width). Each row carries its private
values with their kind, and a record sentence that states them the way the user's files would, so the
private vocabulary can be built from "the records".

    python eval/make_adversarial_set.py            # 360 rows, seed 1313
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

OUT = Path(__file__).resolve().parent / "corpus" / "adversarial.jsonl"
R = random.Random(1313)


def pool(text: str, sep: str | None = None) -> list[str]:
    return text.split(sep)


FIRST = pool(
    "Adaeze Bongani Chidi Dariusz Eun-ji Farhan Giedre Hiroko Ikaika Jovana Kalani Leilani Mihail Nandini "
    "Oluwaseun Parisa Quang Rasmus Siobhan Tevita Uzma Valentijn Wanjiru Ximena Yevgenia Zainab Anahera "
    "Bolat Cathal Dilnoza Esperanza Faisal Ingrid Jarrah Kofi Lorcan Mahina Nasrin Paavo Ruairi Sunniva"
)
LAST = pool(
    "Adeyemi Bjornstad Castellanos Dlamini Esposito-Rinaldi Fitzgerald-Kaur Gyamfi Halvorsen Iwasaki "
    "Jankowska Kowalczyk Lindqvist Mukherjee Nwachukwu Okonjo-Reyes Petrosyan Quispe Rautenbach "
    "Sandoval-Ito Tshabalala Uchenna Vasilakis Wojciechowski Xiong Yilmaz Zhakupova Arapeta Baptiste-Mwangi"
)
TITLES = ["Dr.", "dr", "Prof.", "Mrs.", "Mr.", "nurse", "Dr"]
KIN = ["my sister", "my husband", "my friend", "my mother-in-law", "our neighbour", "my boss", "my nephew"]
ORGS = pool(
    "Tidewater Mutual|Copperleaf Analytics|Fernhollow Veterinary Group|Bramblecote Housing Trust|"
    "Quarrystone Legal|Saltmarsh Credit Union|Orchardgate Pharmacy|Kestrel Ridge Dialysis Unit",
    "|",
)
SCHOOLS = pool(
    "Thistlewood Primary School|St. Brigid's Academy|Maple Hollow Middle School|Ravensworth College|"
    "Ashgrove Montessori|Pinecrest Elementary",
    "|",
)
EMPLOYERS = pool(
    "Hollowbrook Logistics|Veridian Tile Works|Nettlefield Foods|Ambercrest Systems|Loughran & Pike", "|"
)
PLACES = pool(
    "Little Snoring|Tobermory|Ystradgynlais|Kettlewell|Pahiatua|Lake Placid|Bowral|Wiscasset|Clonakilty",
    "|",
)
STREETS = ["Quince", "Harrowgate", "Ollerton", "Bellbird", "Cedar Mill", "Tarnbrook", "Wrenfield"]
SUFFIX = ["Street", "Road", "Lane", "Close", "Avenue", "Crescent"]
TOWNS = [("Albany", "NY"), ("Bozeman", "MT"), ("Yreka", "CA"), ("Hebden Bridge", ""), ("Lismore", "")]
TERMS = ["Project Nightjar", "Operation Saltlick", "Tansy Fund", "Codename Osprey"]


def digits(n: int) -> str:
    return "".join(R.choice(string.digits) for _ in range(n))


def letters(n: int) -> str:
    return "".join(R.choice(string.ascii_uppercase) for _ in range(n))


def iban_de() -> str:
    from stdnum import iban

    bban = digits(18)
    check = iban.calc_check_digits("DE00" + bban)
    raw = f"DE{check}{bban}"
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def luhn_card() -> str:
    from stdnum import luhn

    body = "4" + digits(14)
    raw = body + luhn.calc_check_digit(body)
    return " ".join(raw[i : i + 4] for i in range(0, 16, 4))


IDENTIFIERS = {  # kind -> generator; 10 countries plus country-free formats
    "US SSN": lambda: R.choice(["{}-{}-{}", "{}.{}.{}", "{} {} {}"]).format(digits(3), digits(2), digits(4)),
    "US phone": lambda: f"({digits(3)}) {digits(3)}-{digits(4)}",
    "UK phone": lambda: R.choice([f"020 7{digits(3)} {digits(4)}", f"+44 20 7{digits(3)} {digits(4)}"]),
    "UK NI number": lambda: f"{letters(2)} {digits(2)} {digits(2)} {digits(2)} {R.choice('ABCD')}",
    "UK postcode": lambda: f"{letters(2)}{R.randint(1, 9)} {R.randint(1, 9)}{letters(2)}",
    "DE IBAN": iban_de,
    "FR phone": lambda: f"+33 6 {digits(2)} {digits(2)} {digits(2)} {digits(2)}",
    "IN Aadhaar": lambda: f"{R.randint(2, 9)}{digits(3)} {digits(4)} {digits(4)}",
    "CA SIN": lambda: f"{digits(3)}-{digits(3)}-{digits(3)}",
    "BR CPF": lambda: f"{digits(3)}.{digits(3)}.{digits(3)}-{digits(2)}",
    "ES DNI": lambda: f"{digits(8)}{letters(1)}",
    "NL postcode": lambda: f"{R.randint(1000, 9999)} {letters(2)}",
    "JP phone": lambda: f"090-{digits(4)}-{digits(4)}",
    "AU Medicare": lambda: f"{R.randint(2, 6)}{digits(3)} {digits(5)} {R.randint(1, 9)}",
    "VIN": lambda: "".join(R.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(17)),
    "MRN": lambda: R.choice([f"{digits(2)}-{digits(3)}-{digits(3)}", f"MRN{digits(7)}", f"{digits(8)}"]),
    "card": luhn_card,
    "passport": lambda: f"{letters(1)}{digits(8)}",
    "policy": lambda: f"{letters(3)}-{digits(4)}-{digits(2)}",
}
ID_TEMPLATES = [
    "Which letter mentions {v}?",
    "is {v} the number on my insurance card?",
    "When did I last use {v} on a form?",
    "find the email where they asked for {v}",
    "WHAT IS {v} FOR?",
]
PERSON_TEMPLATES = [
    "what did {p} say about the biopsy results?",
    "When is {p} visiting next?",
    "DID {p} SEND THE SIGNED LEASE?",
    "remind me what {p} recommended for the knee",
    "Summarise my messages with {p} from the spring",
]
ORG_TEMPLATES = [
    ("ORG", "what did {o} charge me last year?"),
    ("ORG", "Is my claim with {o} still open?"),
    ("SCHOOL", "when is the parents evening at {o}?"),
    ("SCHOOL", "did {o} send the trip consent form?"),
    ("EMPLOYER", "how many leave days do i have left at {o}?"),
    ("EMPLOYER", "Find my last payslip from {o}"),
]
PLACE_TEMPLATES = [
    "what did we book in {l} for the summer?",
    "How far is the cottage near {l} from the station?",
    "when did we move away from {l}?",
]
ADDRESS_TEMPLATES = ["what was the deposit for {a}?", "Who is the landlord at {a}", "send the parcel to {a}"]
TERM_TEMPLATES = ["what is the status of {t}?", "summarise the notes about {t}", "who else knows about {t}"]


def cased(text: str) -> str:
    return R.choice([text, text.lower(), text.lower(), text.upper()])


def person_phrase() -> tuple[str, str]:
    name = f"{R.choice(FIRST)} {R.choice(LAST)}"
    style = R.randrange(4)
    if style == 0:
        return cased(name), name
    if style == 1:
        last = name.split()[1]
        return cased(f"{R.choice(TITLES)} {last}"), last
    if style == 2:
        first = name.split()[0]
        return cased(f"{R.choice(KIN)} {first}"), first
    return cased(f"{R.choice(TITLES)} {name}"), name


def trick(term: str) -> str:
    a, b = term.split(" ", 1)
    return R.choice(
        [
            f"{a}-{b}",
            f"{a}.{b}",
            f"{a}\u200b{b}",
            term.replace("e", "\u0435", 1).replace("o", "\u043e", 1),
            "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in term),
            term.upper(),
            term.lower().replace(" ", ""),
        ]
    )


def rows() -> list[dict]:
    out: list[dict] = []

    def add(kind: str, text: str, values: list[tuple[str, str]], record: str) -> None:
        out.append(
            {"id": f"adv{len(out) + 1:03d}", "kind": kind, "text": text, "values": values, "record": record}
        )

    for kind, make in IDENTIFIERS.items():
        for _ in range(6):
            v = make()
            text = R.choice(ID_TEMPLATES).format(v=R.choice([v, v, v.lower()]))
            add("IDENTIFIER", text, [(v, f"IDENTIFIER:{kind}")], f"Ref {v} on file.")
    for _ in range(70):
        phrase, name = person_phrase()
        add("PERSON", R.choice(PERSON_TEMPLATES).format(p=phrase), [(name, "PERSON")], f"Signed: {name}.")
    for _ in range(50):
        kind, template = R.choice(ORG_TEMPLATES)
        pool = {"ORG": ORGS, "SCHOOL": SCHOOLS, "EMPLOYER": EMPLOYERS}[kind]
        o = R.choice(pool)
        add(kind, template.format(o=cased(o)), [(o, kind)], f"Letter from {o}, accounts team.")
    for _ in range(30):
        place = R.choice(PLACES)
        add(
            "PLACE",
            R.choice(PLACE_TEMPLATES).format(l=cased(place)),
            [(place, "PLACE")],
            f"Stayed in {place}.",
        )
    for _ in range(30):
        town, state = R.choice(TOWNS)
        street = f"{R.randint(2, 9800)} {R.choice(STREETS)} {R.choice(SUFFIX)}"
        full = f"{street}, {town}" + (f" {state} {digits(5)}" if state else "")
        add(
            "ADDRESS",
            R.choice(ADDRESS_TEMPLATES).format(a=cased(full)),
            [(full, "ADDRESS")],
            f"Tenancy: {full}.",
        )
    for _ in range(40):
        t = R.choice(TERMS)
        add("TERM", R.choice(TERM_TEMPLATES).format(t=trick(t)), [(t, "TERM")], f"Notes on {t}.")
    return out


def main() -> None:
    data = rows()
    with OUT.open("w", encoding="utf-8") as fh:
        for row in data:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(data)} rows to {OUT}")


if __name__ == "__main__":
    main()
