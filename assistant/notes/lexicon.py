"""Word lists for the grounding check: common medications, drug-name endings, and exam findings.

Small on purpose: the check flags what it recognizes; it is a safety net, not a drug database.
"""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


DRUGS = _words(
    """
    acetaminophen tylenol ibuprofen advil motrin naproxen aleve aspirin tramadol oxycodone hydrocodone
    morphine codeine gabapentin neurontin pregabalin lyrica meloxicam mobic celecoxib celebrex diclofenac
    lisinopril losartan valsartan amlodipine norvasc metoprolol atenolol carvedilol coreg propranolol
    hydrochlorothiazide chlorthalidone furosemide lasix bumetanide torsemide spironolactone entresto
    digoxin warfarin coumadin eliquis apixaban xarelto rivaroxaban plavix clopidogrel heparin
    atorvastatin lipitor simvastatin rosuvastatin crestor pravastatin nitroglycerin amiodarone diltiazem
    metformin glucophage insulin lantus humalog novolog glipizide glyburide januvia jardiance farxiga
    ozempic trulicity victoza semaglutide levothyroxine synthroid methimazole prednisone prednisolone
    methylprednisolone medrol dexamethasone hydrocortisone albuterol proair ventolin symbicort advair
    flovent spiriva montelukast singulair fluticasone flonase budesonide cetirizine zyrtec loratadine
    claritin benadryl diphenhydramine omeprazole prilosec pantoprazole protonix esomeprazole nexium
    famotidine pepcid ranitidine ondansetron zofran metoclopramide miralax docusate colace sertraline
    zoloft fluoxetine prozac citalopram escitalopram lexapro paroxetine bupropion wellbutrin venlafaxine
    effexor duloxetine cymbalta trazodone mirtazapine amitriptyline nortriptyline lorazepam ativan
    alprazolam xanax clonazepam klonopin diazepam valium zolpidem ambien quetiapine seroquel aripiprazole
    risperidone olanzapine lithium lamotrigine levetiracetam keppra topiramate topamax depakote
    carbamazepine amoxicillin augmentin azithromycin zithromax doxycycline cephalexin keflex
    ciprofloxacin cipro levofloxacin bactrim nitrofurantoin macrobid clindamycin penicillin metronidazole
    flagyl fluconazole diflucan acyclovir valacyclovir valtrex tamiflu oseltamivir paxlovid humira
    adalimumab methotrexate hydroxychloroquine plaquenil allopurinol colchicine sumatriptan imitrex
    cyclobenzaprine flexeril baclofen tizanidine finasteride tamsulosin flomax sildenafil viagra
    tadalafil cialis estradiol progesterone testosterone vitamin iron ferrous potassium magnesium
    calcium folic biotin melatonin epinephrine epipen naloxone narcan suboxone buprenorphine methadone
    lidocaine toradol ketorolac keflex bisoprolol hydralazine clonidine isosorbide ranolazine
    """
)

DRUG_SUFFIX = re.compile(
    r"(?:pril|sartan|olol|statin|dipine|prazole|tidine|cillin|mycin|cycline|floxacin|formin|gliptin|"
    r"gliflozin|glitazone|parin|xaban|triptan|setron|lukast|sone|olone|profen|oxetine|azepam|azolam|"
    r"barbital|caine|mab|tinib|ciclovir|thiazide|semide|tropium|afil|dronate|glutide)$"
)
NOT_DRUGS = _words(
    """
    reason reasons person persons season seasons comparison unison poison prison crimson
    parison orison venison garrison jettison caparison lesson
    """
)

# finding -> words that count as the transcript saying it (first five letters are compared)
_GROUPS: tuple[tuple[str, ...], ...] = (
    ("rales", "crackles", "crackle", "rale"),
    ("edema", "edematous", "swelling", "swollen", "fluid", "puffy"),
    ("wheezing", "wheezes", "wheeze"),
    ("rhonchi", "rhonchus"),
    ("murmur",),
    ("gallop",),
    ("bruit",),
    ("tenderness", "tender", "pain", "painful", "hurts", "hurt", "sore"),
    ("erythema", "erythematous", "redness", "red"),
    ("ecchymosis", "bruise", "bruising", "bruised"),
    ("effusion", "fluid"),
    ("fracture", "fractured", "broken", "break"),
    ("rash",),
    ("lesion", "lesions", "spot"),
    ("mass", "lump"),
    ("nodule", "nodules", "lump"),
    ("lymphadenopathy", "lymph", "nodes", "glands"),
    ("distension", "distention", "jvd", "jugular", "distended", "bloated"),
    ("laceration", "cut"),
    ("abrasion", "scrape"),
    ("deformity",),
    ("atrophy",),
    ("crepitus",),
    ("cyanosis", "blue"),
    ("clubbing",),
    ("jaundice", "icterus", "yellow"),
    ("hepatomegaly", "liver"),
    ("splenomegaly", "spleen"),
    ("guarding",),
    ("stenosis", "narrowing"),
    ("regurgitation", "leaky", "leaking"),
    ("ulcer", "ulceration", "sore"),
    ("abscess",),
    ("cellulitis", "infection"),
    ("hernia",),
    ("nystagmus",),
    ("clonus",),
    ("ptosis",),
    ("pneumonia",),
    ("arrhythmia", "irregular"),
    ("tachycardia", "fast", "racing"),
    ("bradycardia", "slow"),
)
_CLINICAL_ALTERNATES = ("crackles", "wheezes", "swelling", "edematous", "erythematous", "distention")
FINDING_GROUPS: dict[str, tuple[str, ...]] = {
    word: group for group in _GROUPS for word in group if word == group[0] or word in _CLINICAL_ALTERNATES
}
FINDINGS = frozenset(FINDING_GROUPS)
