"""Write the evaluation corpus: a synthetic person's records and questions with gold ids and answers.

Run `python eval/make_corpus.py` to regenerate eval/corpus/records.jsonl and eval/corpus/questions.jsonl
(deterministic). Each question carries the plan a strong remote model could write for its sanitized
form; `{ph}` in a sub-query stands for the placeholders the stand-in server finds in the request.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus_life import add_life  # noqa: E402
from people import COLLEAGUES, DOCTORS, FAMILY, FRIENDS, IDENTITY, MONTHS  # noqa: E402

OUT = Path(__file__).resolve().parent / "corpus"
R = random.Random(20240417)
records: list[dict] = []
questions: list[dict] = []


def rec(rid: str, kind: str, date: str, text: str) -> str:
    ext = {"medical_letter": "txt", "email": "eml", "calendar": "ics", "note": "md"}[kind]
    records.append(
        {"id": rid, "kind": kind, "path": f"{kind}/{date}-{rid}.{ext}", "date": date, "text": text}
    )
    return rid


def ask(q: str, gold: list[str], answer: str, guidance: str, subs: list[str]) -> None:
    questions.append(
        {
            "id": f"q{len(questions) + 1:03d}",
            "question": q,
            "gold_ids": gold,
            "answer": answer,
            "plan": {"guidance": guidance, "sub_queries": subs},
        }
    )


def day(y: int, m: int, d: int) -> str:
    return f"{y}-{m:02d}-{d:02d}"


def human(y: int, m: int, d: int) -> str:
    return f"{MONTHS[m - 1]} {d}, {y}"


me = IDENTITY
letter_head = f"Patient: {me['name']}  DOB: {me['dob']}  {me['mrn']}\n"

# --- thyroid letters: dose titration (8) ---
endo, endo_clinic, endo_addr = DOCTORS["endocrinologist"]
doses = [50, 75, 75, 88, 88, 100, 88, 88]
tshs = [6.8, 4.9, 3.1, 5.2, 2.4, 0.3, 1.9, 2.2]
for i, (dose, tsh) in enumerate(zip(doses, tshs, strict=True)):
    y, m = 2022 + (i + 2) // 4, 1 + (i * 3 + 2) % 12
    rid = rec(
        f"thyroid-{i + 1:02d}",
        "medical_letter",
        day(y, m, 14),
        letter_head + f"{endo_clinic}, {endo_addr}\nDear {me['short_name']},\nYour TSH on "
        f"{human(y, m, 9)} was {tsh} mIU/L. After reviewing it, Dr. {endo} sets your levothyroxine "
        f"dose at {dose} mcg daily, taken on an empty stomach. Recheck TSH in eight weeks.\n"
        f"Sincerely, Dr. {endo}, Endocrinology",
    )
    ask(
        f"What levothyroxine dose did Dr. {endo} set after my {MONTHS[m - 1]} {y} TSH test?",
        [rid],
        f"{dose} mcg daily",
        "Find the endocrinology letter for that month; read the dose it sets.",
        ["levothyroxine dose letter {ph}", f"TSH result {MONTHS[m - 1]} endocrinology"],
    )
    if i % 2 == 0:
        ask(
            f"What was my TSH value in {MONTHS[m - 1]} {y}?",
            [rid],
            f"{tsh} mIU/L",
            "Look for the thyroid lab letter of that month and report the TSH value.",
            ["TSH mIU/L thyroid lab result {ph}", "endocrinology letter TSH"],
        )

# --- other labs (12) ---
labs = [
    ("LDL cholesterol", "mg/dL", [142, 128, 117, 109]),
    ("HbA1c", "%", [5.9, 5.8, 5.6, 5.7]),
    ("vitamin D", "ng/mL", [18, 27, 34, 31]),
]
pcp, pcp_clinic, pcp_addr = DOCTORS["primary care"]
for lab, unit, values in labs:
    for j, v in enumerate(values):
        y, m = 2022 + j, 2 + (labs.index((lab, unit, values)) * 4 + j) % 10
        rid = rec(
            f"lab-{lab.split()[0].lower()}-{j + 1}",
            "medical_letter",
            day(y, m, 20),
            letter_head + f"{pcp_clinic}\nLab results for {me['short_name']} ({me['mrn']}), drawn "
            f"{human(y, m, 17)}: {lab} {v} {unit}. Dr. {pcp} comments: "
            + ("above target, continue diet changes." if j == 0 else "improving; keep the current plan."),
        )
        ask(
            f"What was my {lab} result in {y}?",
            [rid],
            f"{v} {unit}",
            f"Find the {y} lab report that lists {lab} and give the value with its unit.",
            [f"{lab} lab result {y}", "primary care lab results {ph}"],
        )

# --- cardiology (6) ---
cardio, cardio_clinic, _ = DOCTORS["cardiologist"]
bps = ["148/92", "139/88", "131/84", "127/80", "124/79", "122/78"]
meds = [
    "lisinopril 10 mg",
    "lisinopril 20 mg",
    "lisinopril 20 mg",
    "amlodipine 5 mg added",
    "amlodipine 5 mg",
    "no change",
]
for i, (bp, med) in enumerate(zip(bps, meds, strict=True)):
    y, m = 2022 + i // 2, 3 + (i * 5) % 9
    rid = rec(
        f"cardio-{i + 1}",
        "medical_letter",
        day(y, m, 3),
        letter_head + f"{cardio_clinic}\nVisit with Dr. {cardio} on {human(y, m, 2)}. Blood pressure "
        f"{bp} mmHg. Plan: {med}. Echocardiogram normal. Follow up in six months.",
    )
    ask(
        f"What was my blood pressure at the cardiology visit in {MONTHS[m - 1]} {y}?",
        [rid],
        f"{bp} mmHg",
        "Find the cardiology visit letter for that month and report the blood pressure.",
        ["blood pressure cardiology visit {ph}", f"cardiology {MONTHS[m - 1]} {y}"],
    )

# --- other specialists (dermatology, eyes, dental): 9 letters ---
specs = [
    (
        "dermatologist",
        "mole on left shoulder",
        ["benign nevus, no action", "slightly changed; biopsy booked", "biopsy benign; annual check"],
    ),
    (
        "ophthalmologist",
        "eye exam",
        [
            "prescription -1.75 both eyes",
            "prescription -2.00 both eyes",
            "early cataract in right eye; monitor",
        ],
    ),
    (
        "dentist",
        "dental check",
        [
            "one filling on lower left molar",
            "cleaning only, no cavities",
            "crown recommended on upper right premolar",
        ],
    ),
]
for spec, topic, outcomes in specs:
    doc, clinic, addr = DOCTORS[spec]
    for j, outcome in enumerate(outcomes):
        y, m = 2022 + j, 5 + j * 2 + specs.index((spec, topic, outcomes))
        rid = rec(
            f"{spec[:5]}-{j + 1}",
            "medical_letter",
            day(y, m, 11),
            letter_head + f"{clinic}, {addr}\nSummary of {topic} with Dr. {doc} on {human(y, m, 10)}: "
            f"{outcome}.",
        )
        ask(
            f"What did Dr. {doc} conclude at my {topic} in {y}?",
            [rid],
            outcome,
            f"Find the {spec} letter from {y}; quote its conclusion.",
            [f"{topic} {spec} {y}", f"{topic} {{ph}}"],
        )

# --- calendar (90): appointments, family events, work ---
places = [
    "Harvest Table, 12 Elm Street",
    "Medford Public Library",
    "Fells Reservation trailhead",
    "Somerville Community Center",
    "Bluebird Cafe, 7 Riverside Ave",
    "Tufts Gym",
    "Whole Foods Medford",
]
events = ["dinner", "book club", "hike", "pottery class", "coffee", "yoga", "volunteering"]
for i in range(60):
    y, m, d = 2024, 1 + i % 12, 1 + (i * 7) % 27
    hour = 8 + (i * 5) % 11
    who = FRIENDS[i % len(FRIENDS)]
    ev, place = events[i % len(events)], places[(i * 3) % len(places)]
    rid = rec(
        f"cal-{i + 1:03d}",
        "calendar",
        day(y, m, d),
        f"Calendar: {ev} with {who} at {place}. {human(y, m, d)}, {hour}:{(i * 15) % 60:02d}. "
        f"Contact {who.split()[0]} on {me['phone'][:6]} 555-{1000 + i * 37:04d}.",
    )
    if i % 3 == 0:
        ask(
            f"When am I meeting {who} for {ev} in {MONTHS[m - 1]}?",
            [rid],
            f"{human(y, m, d)} at {hour}:{(i * 15) % 60:02d}",
            "Find the calendar entry for that event and person; report date and time.",
            [f"{ev} calendar {MONTHS[m - 1]}", f"{ev} with {{ph}}"],
        )
for i, (spec, (doc, clinic, addr)) in enumerate(DOCTORS.items()):
    for j in range(3):
        y, m, d = 2025, 1 + (i * 2 + j * 4) % 12, 3 + i * 4 + j
        hh = 9 + (i + j) % 7
        rid = rec(
            f"appt-{spec[:5].strip()}-{j + 1}",
            "calendar",
            day(y, m, d),
            f"Calendar: appointment with Dr. {doc} ({spec}) at {clinic}, {addr}. {human(y, m, d)} at "
            f"{hh}:00. Bring insurance card, policy {me['policy']}.",
        )
        if j == 1:
            ask(
                f"When is my {spec} appointment with Dr. {doc} in {MONTHS[m - 1]} {y}?",
                [rid],
                f"{human(y, m, d)} at {hh}:00",
                "Find the calendar appointment with that doctor.",
                [f"{spec} appointment {MONTHS[m - 1]}", "appointment with Dr. {ph}"],
            )
kids = [
    ("Sophie", "piano recital", "New England Conservatory"),
    ("Owen", "soccer final", "Hormel Stadium"),
    ("Sophie", "college visit", "Smith College"),
    ("Owen", "science fair", "Medford High School"),
]
for i, (kid, ev, place) in enumerate(kids):
    y, m, d = 2024, 3 + i * 2, 9 + i * 3
    rid = rec(
        f"family-{i + 1}",
        "calendar",
        day(y, m, d),
        f"Calendar: {FAMILY['daughter'] if kid == 'Sophie' else FAMILY['son']}'s {ev} at {place}, "
        f"{human(y, m, d)}, {2 + i}:30 pm. Daniel drives.",
    )
    ask(
        f"Where is {FAMILY['daughter'] if kid == 'Sophie' else FAMILY['son']}'s {ev}?",
        [rid],
        place,
        "Find the family calendar entry for this event; report the place.",
        [f"{ev} {{ph}}", f"{ev} location"],
    )
for i in range(8):
    y, m, d = 2024, 1 + i, 5 + i
    who = COLLEAGUES[i % 4]
    rid = rec(
        f"work-{i + 1}",
        "calendar",
        day(y, m, d),
        f"Calendar: quarterly budget review with {who}, room {300 + i * 11}, {human(y, m, d)} 10:00.",
    )
    if i % 2:
        ask(
            f"Which room is the budget review with {who} in {MONTHS[m - 1]}?",
            [rid],
            f"room {300 + i * 11}",
            "Find the work calendar entry; report the room.",
            ["quarterly budget review room", "review {ph}"],
        )

add_life(rec, ask, records)

# Users paste identifiers into questions: every third question carries one (planted for leakage).
PREFIXES = [
    f"I am {me['name']}, born {me['dob']}.",
    f"My SSN is {me['ssn']}.",
    f"Patient {me['mrn']}.",
    f"Reach me at {me['phone']} or {me['email']}.",
    f"I live at {me['address']}.",
    f"My policy number is {me['policy']}.",
    f"My account is {me['bank_account']}.",
    f"My card is {me['card']}.",
    f"My home IP is {me['ip']}.",
    f"My husband {FAMILY['husband']} asked me this.",
]
for n, q in enumerate(questions[::3]):
    q["question"] = f"{PREFIXES[n % len(PREFIXES)]} {q['question']}"

if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    with open(OUT / "records.jsonl", "w") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)
    with open(OUT / "questions.jsonl", "w") as fh:
        fh.writelines(json.dumps(q) + "\n" for q in questions)
    print(f"{len(records)} records, {len(questions)} questions")
