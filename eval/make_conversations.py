"""Write the long-conversation evaluation set: dated multi-session chats between recurring people.

Run `python eval/make_conversations.py` to regenerate eval/corpus/conversations/ (deterministic):
`sessions/<pair>-<nn>.txt` (one record file per session: a date line, then speaker turns) and
`questions.jsonl` (`id`, `kind`, `question`, `gold` session ids, `answer`, `sub_queries`).
Question kinds: single (one fact), temporal ("when did ..."), multi (facts from several sessions),
open (no fact word given: the session must be found by what it is about). Its own vocabulary:
nothing here is shared with eval/corpus.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

OUT = Path(__file__).resolve().parent / "corpus" / "conversations"
NAMES = [
    "Ines",
    "Marlowe",
    "Tobiah",
    "Kasper",
    "Odalys",
    "Renzo",
    "Sunniva",
    "Baptiste",
    "Marisol",
    "Eero",
    "Quilla",
    "Dashiell",
    "Anouk",
    "Caius",
    "Wilhelmina",
    "Teodor",
    "Yara",
    "Ossian",
    "Perpetua",
    "Lazlo",
]
CITIES = [
    "Tallinn",
    "Porto",
    "Ljubljana",
    "Valparaiso",
    "Bergen",
    "Tbilisi",
    "Kraków",
    "Hobart",
    "Mendoza",
    "Trieste",
    "Halifax",
    "Oaxaca",
    "Dunedin",
    "Bologna",
    "Sapporo",
    "Galway",
    "Lyon",
    "Plovdiv",
    "Cuenca",
    "Tromsø",
]
PETS = [
    ("greyhound", "dog"),
    ("tabby kitten", "cat"),
    ("cockatiel", "bird"),
    ("corn snake", "snake"),
    ("dwarf rabbit", "rabbit"),
    ("border collie", "dog"),
    ("ragdoll cat", "cat"),
]
PET_NAMES = [
    "Biscotti",
    "Juniper",
    "Pickles",
    "Marzipan",
    "Sorrel",
    "Waffles",
    "Clementine",
    "Bramble",
    "Noodle",
    "Fennel",
]
JOBS = [
    ("cartographer", "a survey office"),
    ("sommelier", "a wine bar"),
    ("luthier", "a violin workshop"),
    ("actuary", "an insurance firm"),
    ("glassblower", "a craft studio"),
    ("paramedic", "the ambulance service"),
    ("typesetter", "a small press"),
    ("arborist", "the parks department"),
    ("translator", "a publishing house"),
]
ITEMS = [
    ("kayak", "paddle"),
    ("espresso machine", "coffee"),
    ("cargo bike", "ride"),
    ("telescope", "stars"),
    ("sewing machine", "sew"),
    ("drone", "fly"),
    ("pottery wheel", "clay"),
    ("electric piano", "play"),
]
HOBBIES = [
    ("bouldering", "climbing gym", "climb"),
    ("bookbinding", "workshop", "bind"),
    ("birdwatching", "marsh", "spot"),
    ("fencing", "club", "fence"),
    ("beekeeping", "hives", "tend"),
    ("calligraphy", "evening class", "letter"),
    ("sourdough baking", "kitchen", "bake"),
]
FOODS = "saffron risotto,pickled herring,lamb tagine,okonomiyaki,pierogi,ceviche,goulash,dosa,mole,bibimbap"
FOODS = FOODS.split(",")
EVENTS = [
    ("half marathon", "finished the {city} half marathon in {n} minutes", "minutes"),
    ("quiz night", "won the pub quiz in {city} with {n} points", "points"),
    ("chess tournament", "placed number {n} in the {city} chess open", "place"),
    ("charity swim", "swam {n} lengths for the {city} charity swim", "lengths"),
]
FILLER = [
    "How was your week?",
    "Honestly it was long, work kept me busy.",
    "Same here, I barely slept.",
    "Did you see the storm on Tuesday?",
    "The traffic has been awful lately.",
    "I finally cleaned the flat.",
    "My neighbour keeps playing loud music.",
    "I should call my mother more often.",
    "Let's catch up properly soon.",
    "That sounds lovely.",
    "I'm glad things are going well for you.",
    "Tell me more about it!",
    "Wow, I didn't expect that.",
    "Anyway, how are things with you?",
    "I've been trying to drink more water.",
    "The weekend went by so quickly.",
    "Talk soon, take care!",
    "My manager moved every deadline forward again, so the whole team has been staying late all week.",
    "I spent Saturday morning sorting old photos and got completely lost in memories from school.",
    "The heating in my building broke down twice this month and the landlord still hasn't fixed it.",
    "I keep meaning to read more before bed but I end up scrolling on my phone until midnight.",
    "My brother called yesterday, he wants everyone together for the holidays this year.",
    "It rained the entire weekend so I stayed in, made soup and watched three films in a row.",
    "I've started walking to work instead of taking the bus, it clears my head in the morning.",
    "We had a long meeting about the budget and nobody agreed on anything, as usual.",
    "My cousin is getting ready for exams and keeps asking me for help with maths.",
    "I tried a new café near the station, the cinnamon buns were better than the coffee.",
    "I'm exhausted, but in a good way, it has been a full and busy couple of weeks.",
    "Do you remember that terrible karaoke night? I still laugh when I think about it.",
]


@dataclass
class Pair:
    a: str
    b: str
    sessions: list[dict] = field(default_factory=list)


def main() -> None:
    r = random.Random(1536)
    names = NAMES[:]
    r.shuffle(names)
    pairs = [Pair(names[2 * i], names[2 * i + 1]) for i in range(10)]
    questions: list[dict] = []
    history: dict[tuple[str, str], list[tuple[str, str, str]]] = {}  # (person, topic) -> [(sid, value, date)]

    def ask(kind: str, q: str, gold: list[str], answer: str, subs: list[str]) -> None:
        questions.append(
            {"kind": kind, "question": q, "gold": sorted(set(gold)), "answer": answer, "sub_queries": subs}
        )

    for pi, pair in enumerate(pairs):
        day = dt.date(2023, 1, 9) + dt.timedelta(days=r.randint(0, 40))
        for si in range(22):
            day += dt.timedelta(days=r.randint(9, 30))
            sid = f"p{pi:02d}-{si:02d}"
            date = day.isoformat()
            pretty = f"{day.strftime('%B')} {day.day}, {day.year}"
            turns: list[tuple[str, str]] = []
            for _ in range(r.randint(3, 5)):
                turns.append((r.choice([pair.a, pair.b]), r.choice(FILLER)))
            for _ in range(r.randint(2, 3)):
                who = r.choice([pair.a, pair.b])
                other = pair.b if who == pair.a else pair.a
                topic = r.choice(["move", "pet", "job", "item", "hobby", "food", "event", "trip"])
                said, reply = _fact(r, topic, who, sid, date, pretty, history, ask)
                turns.append((who, said))
                turns.append((other, reply))
                for _ in range(r.randint(2, 4)):
                    turns.append((r.choice([pair.a, pair.b]), r.choice(FILLER)))
            head = f"Date: {date} ({day.strftime('%A')}, {pretty})"
            text = f"{head}\nConversation between {pair.a} and {pair.b}\n\n"
            text += "\n".join(f"{w}: {t}" for w, t in turns) + "\n"
            pair.sessions.append({"id": sid, "date": date, "text": text})
    _multi(history, ask)
    (OUT / "sessions").mkdir(parents=True, exist_ok=True)
    for old in (OUT / "sessions").glob("*.txt"):
        old.unlink()
    for pair in pairs:
        for s in pair.sessions:
            (OUT / "sessions" / f"{s['id']}.txt").write_text(s["text"])
    # a question asked twice (the same person did the same kind of thing twice) has no single answer
    seen: dict[str, int] = {}
    for q in questions:
        seen[q["question"]] = seen.get(q["question"], 0) + 1
    questions = [q for q in questions if seen[q["question"]] == 1]
    with (OUT / "questions.jsonl").open("w") as fh:
        for i, q in enumerate(questions, 1):
            fh.write(json.dumps({"id": f"c{i:04d}", **q}) + "\n")
    print(f"{sum(len(p.sessions) for p in pairs)} sessions, {len(questions)} questions -> {OUT}")


def _fact(r, topic, who, sid, date, pretty, history, ask):  # noqa: ANN001, C901 - one table of templates
    """One fact said in a session, its reply, and the questions it answers."""
    past = history.setdefault((who, topic), [])
    month = date[:7]
    when = " ".join(pretty.replace(",", "").split()[::2])  # "June 2023"
    if topic == "move":
        city = r.choice([c for c in CITIES if c not in {v for _s, v, _d in past}])
        said = r.choice(
            [
                f"Big news: I'm moving to {city} next month, the lease is signed.",
                f"I finally moved into a flat in {city}, boxes everywhere.",
            ]
        )
        reply = f"{city}! That's a big change, I hope the new place feels like home."
        ask(
            "single",
            f"Which city did {who} move to in {pretty.split()[0]} {date[:4]}?",
            [sid],
            city,
            [f"{who} moving to a new city", f"{who} new flat lease"],
        )
        ask(
            "temporal",
            f"When did {who} say they were moving to {city}?",
            [sid],
            month,
            [f"{who} moving {city}", f"relocation to {city}"],
        )
        value = city
    elif topic == "pet":
        kind, animal = r.choice(PETS)
        name = r.choice(PET_NAMES)
        said = f"We adopted a {kind} from the shelter, we named it {name}."
        reply = f"{name} is a perfect name! Send me pictures of the {kind}."
        ask(
            "single",
            f"What is the name of the {animal} {who} adopted?",
            [sid],
            name,
            [f"{who} adopted pet {animal}", f"shelter {kind} name"],
        )
        ask(
            "open",
            f"What new responsibility at home did {who} mention in {when}?",
            [sid],
            f"a {kind}",
            [f"{who} new pet at home", f"{who} looking after an animal"],
        )
        value = name
    elif topic == "job":
        job, place = r.choice(JOBS)
        said = f"I accepted an offer as a {job} at {place}, I start on Monday."
        reply = f"A {job}, congratulations! You've wanted that for ages."
        ask(
            "single",
            f"What job did {who} accept in {pretty.split()[0]} {date[:4]}?",
            [sid],
            job,
            [f"{who} new job offer", f"{who} career change work"],
        )
        ask(
            "temporal",
            f"When did {who} start working as a {job}?",
            [sid],
            month,
            [f"{who} {job} job start", f"{who} accepted offer {place}"],
        )
        value = job
    elif topic == "item":
        item, verb = r.choice(ITEMS)
        price = r.randrange(120, 2400, 10)
        said = f"I splurged on a {item}, it cost {price} dollars but I love it."
        reply = f"{price} is a lot, but if it makes you happy! Can I try the {item}?"
        ask(
            "single",
            f"How much did {who} pay for the {item}?",
            [sid],
            f"{price} dollars",
            [f"{who} bought {item} price", f"{item} cost"],
        )
        ask("temporal", f"When did {who} buy a {item}?", [sid], month, [f"{who} {item} purchase"])
        value = item
    elif topic == "hobby":
        hobby, spot, _verb = r.choice(HOBBIES)
        said = f"I signed up for {hobby} lessons, the {spot} is ten minutes from my place."
        reply = f"{hobby.capitalize()} suits you. Tell me how the first lesson goes."
        ask(
            "open",
            f"How did {who} plan to spend free time, as mentioned in {when}?",
            [sid],
            hobby,
            [f"{who} new hobby lessons", f"{who} free time activity"],
        )
        ask("temporal", f"When did {who} take up {hobby}?", [sid], month, [f"{who} {hobby} lessons"])
        value = hobby
    elif topic == "food":
        food = r.choice(FOODS)
        said = f"Lately my favourite dish is {food}, I cook it every Sunday."
        reply = f"I've never made {food}, you'll have to teach me."
        ask(
            "single",
            f"What dish has {who} been cooking every Sunday?",
            [sid],
            food,
            [f"{who} favourite dish cooking", f"{who} Sunday cooking"],
        )
        ask(
            "open",
            f"What could a friend have cooked to make {who} happy in {when}?",
            [sid],
            food,
            [f"{who} favourite food", f"{who} loves to eat"],
        )
        value = food
    elif topic == "event":
        name, tmpl, unit = r.choice(EVENTS)
        n = r.randint(3, 140)
        city = r.choice(CITIES)
        said = "I " + tmpl.format(city=city, n=n) + "!"
        reply = f"That's impressive, the {name} must have been tough."
        ask(
            "single",
            f"What was {who}'s result in the {city} {name}?",
            [sid],
            f"{n} {unit}",
            [f"{who} {name} result", f"{city} {name}"],
        )
        ask(
            "temporal",
            f"When did {who} take part in the {name} in {city}?",
            [sid],
            month,
            [f"{who} {name} {city}"],
        )
        value = name
    else:  # trip
        city = r.choice(CITIES)
        days = r.randint(3, 16)
        said = f"I'm back from {days} days in {city}, the food there was unreal."
        reply = f"{days} days in {city} sounds amazing, I'm jealous."
        ask(
            "single",
            f"How long was {who}'s trip to {city}?",
            [sid],
            f"{days} days",
            [f"{who} trip {city}", f"{who} holiday travel"],
        )
        ask("temporal", f"When did {who} get back from {city}?", [sid], month, [f"{who} back from {city}"])
        value = city
    past.append((sid, value, date))
    return said, reply


TOPIC_WORDS = {
    "move": ("cities has {p} moved to", "moving home"),
    "pet": ("pets has {p} adopted", "pets"),
    "job": ("jobs has {p} accepted", "job offers"),
    "item": ("things has {p} bought", "purchases"),
    "hobby": ("hobbies has {p} taken up", "lessons"),
    "food": ("dishes has {p} loved", "food"),
    "event": ("competitions has {p} entered", "races and contests"),
    "trip": ("places has {p} travelled to", "trips"),
}


def _multi(history, ask) -> None:  # noqa: ANN001
    """One question per person and topic mentioned in two to four sessions."""
    for (who, topic), items in sorted(history.items()):
        if 2 <= len(items) <= 4:
            what, words = TOPIC_WORDS[topic]
            values = ", ".join(dict.fromkeys(v for _s, v, _d in items))
            ask(
                "multi",
                f"Which {what.format(p=who)} over the conversations?",
                [s for s, _v, _d in items],
                values,
                [f"{who} {words}", f"{who} {topic}"],
            )


if __name__ == "__main__":
    main()
