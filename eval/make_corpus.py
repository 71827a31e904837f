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

from people import COLLEAGUES, DOCTORS, FAMILY, FRIENDS, IDENTITY  # noqa: E402

OUT = Path(__file__).resolve().parent / "corpus"
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
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

# --- e-mails (100): bills, bank, insurance, family, friends ---
utilities = [
    ("Eversource", "electricity"),
    ("National Grid", "gas"),
    ("Comcast", "internet"),
    ("Medford Water", "water"),
]
for i in range(24):
    comp, what = utilities[i % 4]
    y, m = 2023 + i // 12, 1 + i % 12
    amount = f"${40 + (i * 17) % 160}.{(i * 29) % 100:02d}"
    rid = rec(
        f"bill-{i + 1:02d}",
        "email",
        day(y, m, 6),
        f"From: billing@{comp.lower().replace(' ', '')}.com\nTo: {me['email']}\nSubject: Your {what} "
        f"bill\nDear {me['short_name']}, your {MONTHS[m - 1]} {y} {what} bill for {me['address']} is "
        f"{amount}, due on the 28th. Autopay from account {me['bank_account']}.",
    )
    if i % 2 == 0:
        ask(
            f"How much was my {what} bill for {MONTHS[m - 1]} {y}?",
            [rid],
            amount,
            "Find the utility bill e-mail for that month; report the amount.",
            [f"{what} bill {MONTHS[m - 1]} {y}", f"{comp} bill amount"],
        )
claims = [
    "physical therapy, 6 sessions",
    "MRI of the right knee",
    "emergency room visit",
    "dermatology biopsy",
    "new glasses",
    "dental crown",
]
for i, claim in enumerate(claims):
    y, m = 2023 + i // 3, 2 + i * 2
    paid = f"${120 + i * 85}.00"
    rid = rec(
        f"claim-{i + 1}",
        "email",
        day(y, m, 15),
        f"From: claims@bluharborhealth.com\nSubject: Claim processed\nMember {me['name']}, policy "
        f"{me['policy']}. Your claim for {claim} was processed; the plan paid {paid}.",
    )
    ask(
        f"How much did my insurance pay for the {claim.split(',')[0]} claim?",
        [rid],
        paid,
        "Find the insurance claim e-mail for that service; report what the plan paid.",
        [f"insurance claim {claim.split(',')[0]}", "claim processed plan paid {ph}"],
    )
family_mails = [
    ("sister", "Thanksgiving", "I'll bring the pecan pie and my green bean casserole"),
    ("mother", "her hip surgery", "the surgery went well and she goes home on Friday"),
    ("husband", "the car", "the Subaru needs new brake pads, quoted $340"),
    ("daughter", "her summer job", "she got the lifeguard job at Wright's Pond, starting June 20"),
    ("son", "his trip", "the band trip to Montreal costs $615 and leaves April 4"),
    ("sister", "the cabin", "the Lake Winnipesaukee cabin is booked for the week of July 13"),
    ("mother", "her new phone", "her new number ends in 4471"),
    ("husband", "the roof", "the roofer, Delgado Roofing, can start on September 9"),
]
for i, (rel, topic, body) in enumerate(family_mails):
    who = FAMILY[rel]
    y, m = 2024, 1 + i
    rid = rec(
        f"fam-mail-{i + 1}",
        "email",
        day(y, m, 2 + i),
        f"From: {who} <{who.split()[0].lower()}@gmail.com>\nTo: {me['email']}\nSubject: {topic}\n"
        f"Hi Maggie, about {topic}: {body}. Love, {who.split()[0]}",
    )
    ask(
        f"What did {who} tell me about {topic}?",
        [rid],
        body,
        "Find the e-mail from that family member about the topic and summarize it.",
        [f"e-mail about {topic}", f"message from {{ph}} {topic}"],
    )
friend_topics = ["book recommendation", "recipe", "hiking plan", "birthday gift", "garden tips", "podcast"]
friend_details = [
    "read 'The Overstory' by Richard Powers",
    "add smoked paprika to the lentil soup",
    "Mount Monadnock via the White Dot trail",
    "a ceramic planter from the Somerville market",
    "plant the garlic before the first frost",
    "listen to the 'Hidden Brain' episode on memory",
]
for i in range(36):
    who = FRIENDS[i % len(FRIENDS)]
    t = i % len(friend_topics)
    y, m = 2023 + i // 18, 1 + i % 12
    detail = friend_details[t] if i < 6 else f"{friend_details[t]} (take {i})"
    rid = rec(
        f"friend-{i + 1:02d}",
        "email",
        day(y, m, 10 + i % 15),
        f"From: {who}\nTo: {me['email']}\nSubject: {friend_topics[t]}\nHi Maggie! My {friend_topics[t]}: "
        f"{detail}. Call me at {me['phone'][:6]} 555-{2000 + i * 13:04d}. - {who.split()[0]}",
    )
    if i < 6:
        ask(
            f"What {friend_topics[t]} did {who} send me?",
            [rid],
            friend_details[t],
            "Find the friend's e-mail on that topic; report the suggestion.",
            [f"{friend_topics[t]} e-mail", f"{friend_topics[t]} from {{ph}}"],
        )
for i in range(16):
    y, m = 2024, 1 + i % 12
    who = COLLEAGUES[i % 4]
    rid = rec(
        f"work-mail-{i + 1:02d}",
        "email",
        day(y, m, 20),
        f"From: {who}\nSubject: project Juniper status\nMaggie, milestone {i + 1} of project Juniper "
        f"is {['on track', 'two weeks late', 'done', 'blocked on vendor'][i % 4]}. The vendor contact is "
        f"{who.split()[0].lower()}@juniper-partners.com. Please review by Friday.",
    )
    if i < 4:
        ask(
            f"What is the status of milestone {i + 1} of project Juniper?",
            [rid],
            ["on track", "two weeks late", "done", "blocked on vendor"][i % 4],
            "Find the project status e-mail for that milestone.",
            [f"project Juniper milestone {i + 1} status", "Juniper status {ph}"],
        )
rid = rec(
    "bank-1",
    "email",
    "2024-02-01",
    f"From: alerts@harborbank.com\nAccount {me['bank_account']}: your card {me['card']} was used for "
    f"$1,249.00 at Best Buy on January 30. Login from IP {me['ip']}.",
)
ask(
    "What was the large charge on my card at the end of January?",
    [rid],
    "$1,249.00 at Best Buy",
    "Find the bank alert e-mail; report the charge.",
    ["bank card alert charge January", "card used {ph}"],
)
rid = rec(
    "id-1",
    "email",
    "2023-11-02",
    f"From: hr@juniper-corp.com\nSubject: benefits enrolment\n{me['name']}, SSN {me['ssn']}, born "
    f"{me['dob']}, enrolled in the Blue Harbor PPO plan starting January 1, 2024.",
)
ask(
    "Which health plan did I enrol in for 2024?",
    [rid],
    "Blue Harbor PPO plan",
    "Find the benefits enrolment e-mail.",
    ["benefits enrolment health plan 2024", "enrolled plan {ph}"],
)

# --- notes (70): car, garden, books, gifts, home ---
for i in range(12):
    y, m = 2022 + i // 4, 1 + (i * 3) % 12
    miles = 41000 + i * 3850
    rid = rec(
        f"car-{i + 1:02d}",
        "note",
        day(y, m, 8),
        f"Car log: Subaru Outback oil change at Medford Auto on {human(y, m, 8)}, odometer {miles} "
        f"miles, cost ${69 + i * 3}.",
    )
    if i % 3 == 0:
        ask(
            f"What was the odometer reading at the oil change in {MONTHS[m - 1]} {y}?",
            [rid],
            f"{miles} miles",
            "Find the car log note for that oil change.",
            [f"oil change {MONTHS[m - 1]} {y}", "car log odometer {ph}"],
        )
crops = ["tomatoes", "zucchini", "basil", "garlic", "kale", "peppers", "beans", "lettuce"]
varieties = [
    "Sungold",
    "Costata",
    "Genovese",
    "Music",
    "Lacinato",
    "Jimmy Nardello",
    "Blue Lake",
    "Buttercrunch",
]
for i in range(16):
    crop, y, var = crops[i % 8], 2023 + i // 8, varieties[(i + i // 8) % 8]
    rid = rec(
        f"garden-{i + 1:02d}",
        "note",
        day(y, 4 + i % 5, 12),
        f"Garden note {y}: planted {crop} in bed {1 + i % 4}; variety {var}; harvest notes later.",
    )
    if i < 8:
        ask(
            f"Which variety of {crop} did I plant in {y}?",
            [rid],
            var,
            "Find the garden note for that crop and year.",
            [f"garden {crop} variety {y}", f"planted {crop}"],
        )
books = [
    ("Piranesi", "Susanna Clarke", 5),
    ("The Overstory", "Richard Powers", 4),
    ("Klara and the Sun", "Kazuo Ishiguro", 4),
    ("Lessons in Chemistry", "Bonnie Garmus", 3),
    ("Tomorrow, and Tomorrow", "Gabrielle Zevin", 5),
    ("The Covenant of Water", "Abraham Verghese", 4),
    ("Demon Copperhead", "Barbara Kingsolver", 5),
    ("Trust", "Hernan Diaz", 3),
]
for i, (title, author, stars) in enumerate(books):
    rid = rec(
        f"book-{i + 1}",
        "note",
        day(2023, 1 + i, 28),
        f"Reading log: finished '{title}' by {author}. Rating {stars}/5. Book club with "
        f"{FRIENDS[i % 6]} next month.",
    )
    ask(
        f"How did I rate '{title}'?",
        [rid],
        f"{stars}/5",
        "Find the reading log note for that book.",
        [f"reading log {title}", "book rating {ph}"],
    )
gifts = [
    "a leather journal",
    "noise-cancelling headphones",
    "a pottery class voucher",
    "hiking boots",
    "a cast-iron skillet",
    "a telescope",
]
for i, gift in enumerate(gifts):
    who = list(FAMILY.values())[i % 5]
    rid = rec(f"gift-{i + 1}", "note", day(2024, 10 + i % 3, 1 + i), f"Gift ideas: for {who}, {gift}.")
    if i < 5:
        ask(
            f"What gift idea did I note for {who}?",
            [rid],
            gift,
            "Find the gift ideas note for that person.",
            ["gift ideas note", "gift for {ph}"],
        )
fillers = [
    "Grocery list: oat milk, lemons, feta, spinach, coffee beans.",
    "Thought: call the plumber about the slow drain in the upstairs bathroom.",
    "Idea: scan old photo albums before the holidays.",
    "Reminder: renew library card; check hold on new mystery novel.",
    "Note: the furnace filter size is 16x25x1.",
    "Password hint for the router is on the fridge card, not here.",
    "Walked 8,400 steps today, knee felt fine after physio exercises.",
]
i = 0
while len(records) < 320:
    rec(
        f"misc-{i + 1:03d}",
        "note",
        day(2023 + i % 2, 1 + i % 12, 1 + i % 27),
        f"{fillers[i % len(fillers)]} ({me['short_name'].split()[0]}, entry {i + 1})",
    )
    i += 1

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
