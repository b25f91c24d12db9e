# Display names for the front panel (16 columns), next to the drug library
# (druglib.json): a drug name longer than 10 columns and every route longer
# than 4 get a short form here, so that a drug list row, ">" + drug + " " +
# route, fits whole.  Names not listed are shown as the library spells them.
# The words are in docs/panel-glossary.md.  Imported by ui_pages (never
# resident at the bedside).
DRUG = {
    "levetiracetam": "levetirac.",
    "phenobarbital": "phenobarb",
    "pentobarbital": "pentobarb",
    "fosphenytoin": "fosphenyt.",
}
ROUTE = {"infusion": "inf", "buccal": "bucc", "rectal": "PR"}
DRUG_COLS = 10
ROUTE_COLS = 4


def drug(name):
    return DRUG.get(name, name)


def route(name):
    return ROUTE.get(name, name)
