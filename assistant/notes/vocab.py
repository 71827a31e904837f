"""Word lists for the fact extractor: symptoms, diagnoses, tests, specialties, dose units, schedules.

Our own lists only where no maintained clinical vocabulary installs offline; drug names come from the
`drug-named-entity-recognition` dictionary when it is installed (see `drugs.py`).
"""

from __future__ import annotations

import re


def word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


SYMPTOMS = (
    "chest pain|shortness of breath|short of breath|trouble breathing|difficulty breathing|cough|"
    "fever|fevers|chills|night sweats|sweats|nausea|vomiting|diarrhea|constipation|abdominal pain|"
    "stomach pain|belly pain|heartburn|reflux|bloating|bloated|blood in (?:the|your|my)? ?stool|"
    "headaches?|migraines?|dizziness|dizzy|lightheaded(?:ness)?|fatigue|tired|weakness|numbness|"
    "tingling|palpitations|wheezing|sore throat|congestion|runny nose|sneezing|rash|itching|itchy|"
    "swelling|swollen|weight loss|weight gain|back pain|neck pain|knee pain|hip pain|shoulder pain|"
    "joint pain|pain|stiffness|anxiety|depression|insomnia|trouble sleeping|burning with urination|"
    "painful urination|blood in (?:the|your|my)? ?urine|urinary frequency|frequent urination|"
    "blurry vision|blurred vision|vision changes|loss of appetite|appetite|syncope|fainting|passed out|"
    "bruising|bleeding|sputum|phlegm|cramps|cramping|muscle aches|body aches|ear pain|toothache"
)
SYMPTOM = re.compile(rf"\b(?:{SYMPTOMS})\b")

DIAGNOSES = (
    "pneumonia|bronchitis|hypertension|high blood pressure|diabetes|type 2 diabetes|prediabetes|"
    "hyperlipidemia|high cholesterol|asthma|copd|congestive heart failure|heart failure|"
    "atrial fibrillation|afib|coronary artery disease|hypothyroidism|hyperthyroidism|depression|"
    "anxiety|gerd|acid reflux|osteoarthritis|arthritis|gout|migraine|sinusitis|urinary tract infection|"
    "uti|kidney stones?|chronic kidney disease|anemia|obesity|sleep apnea|strep throat|"
    "influenza|flu|covid|cellulitis|sprain|strain|fracture|tendinitis|tendonitis|bursitis|"
    "carpal tunnel syndrome|sciatica|concussion|dermatitis|eczema|psoriasis|allergic rhinitis|"
    "otitis media|conjunctivitis|gastroenteritis|diverticulitis|appendicitis|cholecystitis|"
    "pancreatitis|hepatitis|cirrhosis|lupus|rheumatoid arthritis|multiple sclerosis|epilepsy|stroke|"
    "neuropathy|cancer|melanoma|lymphoma|leukemia|dementia|parkinson's|infection|injury|tear"
)
DIAGNOSIS = re.compile(rf"\b(?:{DIAGNOSES})\b")
DISEASE_WORD = re.compile(r"\b[a-z]{4,}(?:itis|osis|emia|opathy|algia)\b")

TESTS = (
    "chest x-ray|x-rays?|xray|mri|ct scan|cat scan|ct|ultrasound|echocardiogram|echo|ekg|ecg|"
    "stress test|blood work|bloodwork|labs?|lab work|a1c|hemoglobin a1c|hemoglobin|cholesterol|ldl|"
    "creatinine|potassium|sodium|glucose|blood sugar|cbc|blood count|white count|urinalysis|"
    "urine culture|culture|biopsy|pathology|mammogram|colonoscopy|endoscopy|pft|pulmonary function|"
    "swab|strep test|covid test|tsh|thyroid|liver function|kidney function|psa|vitamin d|ejection fraction"
)
TEST = re.compile(rf"\b(?:{TESTS})\b")
RESULT_CUE = re.compile(
    r"\b(?:showed|shows|show|revealed|reveals|demonstrat\w*|came back|was|were|is|are|normal|"
    r"abnormal|elevated|high|low|negative|positive|consistent with|looks?|noted)\b"
)

EXAM_CUE = re.compile(
    r"\b(?:on (?:physical )?exam\w*|exam\w*|i hear|i feel|i see|i notice|i don't hear|i don't see|"
    r"i don't feel|palpat\w*|auscultat\w*|tender\w*|murmur|crackles|rales|wheez\w*|rhonchi|edema|"
    r"swelling|erythema|range of motion|reflexes|lungs? (?:are|sound)|heart (?:is|sounds)|"
    r"regular rate|clear to auscultation|bruising|ecchymosis|effusion|lymph nodes|pupils|abdomen)\b"
)
SPECIALTY = re.compile(
    r"\b(?:[a-z]+ologist|[a-z]+ology|physical therapy|occupational therapy|physical therapist|"
    r"surgeon|surgery|orthopedics|orthopedic\w*|podiatr\w*|specialist|nutritionist|dietitian|"
    r"counselor|therapist|psychiatr\w*)\b"
)
SOCIAL = re.compile(
    r"\b(?:smok\w*|cigarettes?|tobacco|vap\w*|alcohol|drink(?:s|ing)?|beers?|wine|marijuana|"
    r"recreational drugs|exercis\w*|work(?:s|ing)? as|retired|lives? with|married)\b"
)

UNIT = (
    r"mg|milligrams?|mcg|micrograms?|grams?|g|units?|ml|milliliters?|cc|puffs?|tablets?|pills?|capsules?|"
    r"drops?|%|percent"
)
DOSE = re.compile(rf"\b(\d+(?:\.\d+)?)\s*({UNIT})(?![a-z])")
UNIT_CANON = {
    "milligram": "mg", "milligrams": "mg", "microgram": "mcg", "micrograms": "mcg", "gram": "g",
    "grams": "g", "unit": "units", "milliliter": "ml", "milliliters": "ml", "cc": "ml", "puff": "puffs",
    "tablet": "tablets", "pill": "tablets", "pills": "tablets", "capsule": "capsules", "drop": "drops",
    "percent": "%",
}  # fmt: skip

FREQUENCIES: tuple[tuple[str, str], ...] = (
    (r"(?:twice|two times) (?:a|per) day|twice daily|bid|every 12 hours", "twice daily"),
    (r"(?:three times|3 times) (?:a|per) day|tid", "three times daily"),
    (r"(?:four times|4 times) (?:a|per) day|qid", "four times daily"),
    (r"every (\d+) hours", "every {0} hours"),
    (r"at night|at bedtime|before bed|nightly", "at bedtime"),
    (r"in the morning|every morning", "in the morning"),
    (r"as needed|when you need it|prn", "as needed"),
    (r"once a week|weekly|every week", "weekly"),
    (r"(?:once|one time|1 time) (?:a|per) day|once daily|every day|daily|each day|a day", "daily"),
)
ROUTES: tuple[tuple[str, str], ...] = (
    (r"by mouth|orally|oral|pills?|tablets?|capsules?", "by mouth"),
    (r"inhaler|inhaled|puffs?|nebulizer", "inhaled"),
    (r"cream|ointment|topical\w*|gel|patch", "topical"),
    (r"injection|inject\w*|shot|subcutaneous\w*|intramuscular\w*", "injection"),
    (r"intravenous\w*|\biv\b", "intravenous"),
    (r"nasal spray|nose spray", "nasal"),
    (r"eye drops?", "ophthalmic"),
)
DURATION = re.compile(r"\bfor (?:the next )?(\d+|a|one) (days?|weeks?|months?)\b")
INTERVAL = re.compile(r"\b(\d+|a|one|a couple of|a few) (days?|weeks?|months?|years?)\b")
ACTIONS: tuple[tuple[str, str], ...] = (  # first match wins; order matters
    (r"\bswitch\w*|\bchange you (?:over )?(?:from|to)|\binstead of\b|\breplace\w*", "switch"),
    (r"\bstop\w*|\bdiscontinu\w*|\bhold (?:off|the|your)|\bcome off\b|\bget off\b|\bquit taking\b", "stop"),
    (r"\bincreas\w*|\bup (?:the|your) dose|\bbump\w* (?:up|you)|\braise\w*|\bdouble\w*", "increase"),
    (r"\bdecreas\w*|\blower\w* (?:the|your)|\breduc\w*|\bcut (?:back|down|the dose)", "decrease"),
    (r"\bcontinu\w*|\bkeep (?:taking|you on)|\bstay on\b|\bremain on\b|\brefill\w*", "continue"),
    (
        r"\bstart\w*|\bprescrib\w*|\bput you on\b|\bgive you\b|\bgoing to give\b|\bsend (?:in|you|a)|"
        r"\bbegin\b|\btry (?:you on|some|a)|\border (?:you )?some\b|\brecommend\w*",
        "start",
    ),
)
CORRECTION = re.compile(
    r"\b(?:actually|sorry|i mean|i meant|correction|scratch that|let me correct|no,? make (?:that|it)|"
    r"make (?:that|it))\b"
)
NEGATION = re.compile(
    r"\b(?:no|not|denies|deny|denied|without|never|negative for|free of|none|don't|doesn't|didn't|"
    r"haven't|hasn't|hadn't|isn't|aren't|wasn't|nor|any)\b"
)
NEGATION_END = re.compile(r"\b(?:but|however|although|though|except|apart from|aside from|other than)\b|;")
YES = re.compile(
    r"^(?:yes|yeah|yep|yup|i do|i have|sometimes|a little|a bit|definitely|correct|right|sure)\b"
)
NO = re.compile(r"^(?:no|nope|not really|nah|none|never|i don't|i haven't|not at all)\b")
