"""E-mails and notes of the evaluation corpus (split from make_corpus.py to keep files small)."""

from __future__ import annotations

from collections.abc import Callable

from people import COLLEAGUES, FAMILY, FRIENDS, IDENTITY, MONTHS

me = IDENTITY


def day(y: int, m: int, d: int) -> str:
    return f"{y}-{m:02d}-{d:02d}"


def human(y: int, m: int, d: int) -> str:
    return f"{MONTHS[m - 1]} {d}, {y}"


def add_life(rec: Callable[..., str], ask: Callable[..., None], records: list[dict]) -> None:
    """Bills, bank, insurance, family and friends' e-mails, work mail; car, garden, book, gift notes."""
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
    friend_topics = [
        "book recommendation",
        "recipe",
        "hiking plan",
        "birthday gift",
        "garden tips",
        "podcast",
    ]
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
