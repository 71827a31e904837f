"""Phrase patterns the fact extractor reads: plans, orders, findings, onsets, allergies, vitals."""

from __future__ import annotations

import re

FUTURE = re.compile(
    r"\b(?:i'm going to|i am going to|i'll|we'll|we will|let's|i want to|i'd like to|we're going to|"
    r"i would like to|we need to|you'll need|you need to|i want you to|plan (?:is|to)|we can|i will)\b"
)
ORDER = re.compile(r"\b(?:order\w*|get|schedule|repeat|check|send you for|obtain|draw|do)\b")
REFER = re.compile(r"\b(?:refer\w*|send you (?:to|over)|see (?:a|an|the)|consult\w*)\b")
FOLLOW = re.compile(
    r"\b(?:follow[- ]?up|follow you up|come back|see you (?:back|again)?|return|recheck|check back|"
    r"check in|next visit|see me)\b"
)
ASSESS = re.compile(
    r"\b(?:diagnos\w*|you have|you've got|consistent with|likely|probably|i think|i believe|sounds like|"
    r"looks like|suspect\w*|assessment|impression|history of|problem|for your|regarding your|"
    r"with regards? to|in terms of|due to|caused by|dealing with)\b"
)
FINDING = re.compile(
    r"\b(?:normal|clear|regular|tender\w*|swelling|swollen|murmur|crackles|rales|wheez\w*|rhonchi|"
    r"edema|erythema|redness|bruising|range of motion|strength|reflexes|pulses?|intact|decreased|"
    r"pain (?:with|on|to)|positive|negative|effusion|lesion|rash|distended|soft|nontender|appreciate|"
    r"distention|jvd|unremarkable|full|limited|mild|moderate|severe)\b"
)
INSTRUCT = re.compile(r"(?:so |and |then |please |ok,? |okay,? )?(?:take|use|apply|try)\b")
ABOUT_PATIENT = re.compile(r"\b(?:you|your|you've|you're|he|she|patient)\b")
BODY_PAIN = re.compile(
    r"\b(?:my|the|your|his|her) (?:(right|left) )?(knee|hip|back|neck|shoulder|elbow|wrist|ankle|foot|hand|"
    r"arm|leg|head|stomach|chest|ear|throat|eye|tooth|jaw|toe|finger) (?:hurts|is hurting|has been hurting|"
    r"is sore|is killing me|aches)"
)
COMMAND = re.compile(r"(?:so |and |okay,? )?(?:show me|let me|let's|pull up|open)\b")
ASKED = re.compile(r"(?:so |and |now )?(?:is it|does it|do you|can you|where|how|what|are you|did you)\b")
ONSET = re.compile(
    r"\b(?:(?:for|about|over|past|last|around|almost|nearly) (?:the )?(?:past |last )?)"
    r"((?:\d+|a|one|a couple of|a few|several) (?:days?|weeks?|months?|years?))|"
    r"((?:\d+|a|one|a couple of|a few|several) (?:days?|weeks?|months?|years?) ago)|"
    r"\bsince ((?:yesterday|last \w+|this morning|\w+day|\d+ \w+ ago|the \w+))"
)
ALLERGEN = re.compile(r"allergic to (?:the |any |some )?([a-z]+(?: [a-z]+)?)|([a-z]+) allerg")
ANSWER_ALLERGEN = re.compile(
    r"(?:yes|yeah|yep|i am|i'm|just|only)?[,.]?\s*(?:i'm |i am )?(?:allergic to )?(?:the )?([a-z]{4,})"
)
REACTION = re.compile(
    r"\b(?:hives|rash|swelling|anaphylaxis|itching|itchy|throat (?:closing|swelling|swell)|"
    r"trouble breathing|nausea|vomiting|upset stomach|diarrhea|welts|blisters)\b"
)
VITALS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("temperature", re.compile(r"\b(?:temperature|temp|fever)\b\D{0,25}?\b(\d{2,3}(?:\.\d)?)\b")),
    ("blood pressure", re.compile(r"\b(?:blood pressure|bp)\b\D{0,30}?\b(\d{2,3}) ?(?:over|/) ?(\d{2,3})\b")),
    ("heart rate", re.compile(r"\b(?:heart rate|pulse|hr)\b\D{0,20}?\b(\d{2,3})\b")),
    ("respiratory rate",
     re.compile(r"\b(?:respiratory rate|respirations|breathing rate)\b\D{0,20}?\b(\d{1,2})\b")),
    ("oxygen saturation",
     re.compile(r"\b(?:oxygen|o2|saturation|sats?|pulse ox\w*|spo2)\b\D{0,30}?\b(\d{2,3}) ?(?:%|percent)")),
    ("weight", re.compile(r"\b(?:weigh\w*)\b\D{0,20}?\b(\d{2,3}(?:\.\d)?) ?(pounds|lbs|kilograms|kg)\b")),
)  # fmt: skip
VITAL_RANGE = {"temperature": (90, 110), "heart rate": (30, 220), "respiratory rate": (6, 60),
                "oxygen saturation": (60, 100), "weight": (2, 700), "blood pressure": (50, 260)}  # fmt: skip
