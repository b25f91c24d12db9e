"""Drug library: coverage of clinical.md section 11, sourcing, integer-only
data, integrity tag, and refusal of a tampered or unverifiable library."""
import copy
import hashlib
import json
import os

import pytest

from firmware.core import dosecheck, druglib
from firmware.core.sha256_fallback import sha256_digest
from host_tools.commands.druglib import seal_text

PATH = druglib.default_path()

# clinical.md section 11 (and issue 4): every drug and route.
SECTION_11 = {
    "midazolam": {"im", "in", "buccal", "iv", "infusion"},
    "lorazepam": {"iv"},
    "diazepam": {"iv", "rectal"},
    "phenobarbital": {"iv"},
    "fosphenytoin": {"iv"},
    "phenytoin": {"iv"},
    "valproate": {"iv"},
    "levetiracetam": {"iv"},
    "propofol": {"infusion"},
    "pentobarbital": {"infusion"},
    "thiopental": {"infusion"},
    "ketamine": {"infusion"},
    "lacosamide": {"iv"},
}


def raw():
    with open(PATH, encoding="utf-8") as f:
        return json.load(f)


def test_default_library_verifies():
    lib = druglib.load()
    assert lib.verified, lib.reason
    assert lib.version and len(lib.sha256) == 64


def test_hash_matches_an_independent_canonical_encoding():
    doc = raw()
    body = {k: v for k, v in doc.items() if k != "sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert not any(ord(c) < 0x20 for c in text)  # where json.dumps and ours could differ
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == doc["sha256"]
    assert druglib.compute_hash(doc) == doc["sha256"]


def test_covers_every_drug_and_route_of_section_11():
    lib = druglib.load()
    got = {d: set(lib.route_names(d)) for d in lib.drug_names()}
    assert got == SECTION_11


def _walk(x, path=""):
    yield path, x
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _walk(v, path + "/" + k)
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from _walk(v, "%s[%d]" % (path, i))


def test_numbers_are_integers_only():
    for path, x in _walk(raw()):
        assert not isinstance(x, float), path


def _rules(entry):
    """Every numeric rule in a route entry (after resolving selectors)."""
    out = []
    for key in ("dose", "load", "repeat", "esett", "rate"):
        for ref in druglib.REFERENCES:
            for age in druglib.AGE_GROUPS:
                r = druglib.pick(entry.get(key), ref, age)
                if r is not None:
                    out.append((key, r))
    for key in ("admin_rate", "rate_rules"):
        for ref in druglib.REFERENCES:
            for age in druglib.AGE_GROUPS:
                for r in druglib.pick(entry.get(key), ref, age) or []:
                    out.append((key, r))
    return out


def test_every_number_has_a_source_with_an_evidence_tag():
    doc = raw()
    for dk, drug in doc["drugs"].items():
        for rk, entry in drug["routes"].items():
            rules = _rules(entry)
            assert rules, (dk, rk)
            for key, r in rules:
                assert isinstance(r.get("src"), str) and r["src"], (dk, rk, key, r)
                assert any(t in r["src"] for t in ("[C]", "[S]", "[U]", "[D]")), (dk, rk, key, r["src"])
            if entry.get("concentrations_ug_per_ml"):
                assert entry.get("conc_src"), (dk, rk)
    for k in doc["settings"]:
        assert doc["settings_src"].get(k), k


def test_every_entry_has_line_mode_and_a_dose_rule_for_both_references():
    lib = druglib.load()
    for dk in lib.drug_names():
        for rk in lib.route_names(dk):
            e = lib.entry(dk, rk)
            assert e["mode"] in ("bolus", "infusion") and e["line"] in (1, 2, 3)
            key = "dose" if e["mode"] == "bolus" else "load"
            for ref in druglib.REFERENCES:
                for age in druglib.AGE_GROUPS:
                    r = druglib.pick(e[key], ref, age)
                    assert isinstance(r, dict) and r.get("basis"), (dk, rk, ref, age)
            if e["mode"] == "infusion":
                r = e["rate"]
                assert r["lo_ng_per_kg_h"] < r["soft_hi_ng_per_kg_h"] <= r["hard_hi_ng_per_kg_h"]


def test_sources_disagree_where_section_15_says_and_reference_selects():
    # section 15 item 3: levetiracetam AES 60 mg/kg vs NCS 1000-3000 mg
    a = dosecheck.check_dose("levetiracetam", "iv", "50 kg", dose="3000 mg")
    n = dosecheck.check_dose("levetiracetam", "iv", "50 kg", dose="3000 mg", reference="ncs")
    assert a["target_ug"] == 3000000 and n["target_low_ug"] == 1000000
    # section 15 item 1: IM midazolam AES band vs NCS 0.2 mg/kg
    a = dosecheck.check_dose("midazolam", "im", "35 kg", dose="5 mg")
    n = dosecheck.check_dose("midazolam", "im", "35 kg", dose="5 mg", reference="ncs")
    assert a["verdict"] == "adequate" and a["bzd_permille"] == 500  # ESETT needs 10 mg at 35 kg
    assert n["target_ug"] == 7000 and n["verdict"] == "underdosed"
    # section 15 item 2: diazepam 4 mg IV at 20 kg is AES-correct but below ESETT's 6 mg
    d = dosecheck.check_dose("diazepam", "iv", "20 kg", dose="4 mg")
    assert d["verdict"] == "adequate" and d["bzd_permille"] == 666


# ---------------- integrity ----------------

def _write(tmp_path, text, name="lib.json"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def tampered_doc():
    doc = raw()
    doc["drugs"]["lorazepam"]["routes"]["iv"]["dose"]["by_reference"]["aes"]["max_ug"] = 40000
    return doc


def test_tampered_library_is_refused(tmp_path):
    p = _write(tmp_path, json.dumps(tampered_doc(), indent=1, ensure_ascii=False))
    lib = druglib.load(p)
    assert not lib.verified
    assert "integrity" in lib.reason
    v = dosecheck.check_dose("lorazepam", "iv", "70 kg", dose="10 mg", library=lib)
    assert v["verdict"] == "error"
    assert v["messages"] == ["dose checks refused: " + lib.reason]
    assert v["counts_as_adequate"] is False and v["bzd_permille"] == 0


def test_reformatting_does_not_break_the_tag(tmp_path):
    p = _write(tmp_path, json.dumps(raw(), indent=None, sort_keys=True, ensure_ascii=True))
    assert druglib.load(p).verified


@pytest.mark.parametrize("mutate,reason", [
    (lambda d: d.pop("sha256"), "no SHA-256"),
    (lambda d: d.pop("version"), "no version"),
    (lambda d: d.__setitem__("version", "9.9.9"), "integrity"),
    (lambda d: d.__setitem__("format", "other/1"), "format"),
    (lambda d: d["settings"].__setitem__("hard_over_permille", 2000.0), "integers only"),
    (lambda d: d.__setitem__("sha256", "0" * 64), "integrity"),
])
def test_unverifiable_libraries(tmp_path, mutate, reason):
    doc = raw()
    mutate(doc)
    lib = druglib.loads(json.dumps(doc))
    assert not lib.verified and reason in lib.reason
    assert dosecheck.check_dose("lorazepam", "iv", "70 kg", dose="4 mg", library=lib)["verdict"] == "error"


def test_unreadable_or_invalid_json_refused(tmp_path):
    assert not druglib.load(str(tmp_path / "missing.json")).verified
    lib = druglib.load(_write(tmp_path, "{not json"))
    assert not lib.verified and "not valid JSON" in lib.reason
    assert dosecheck.check_dose("lorazepam", "iv", "70 kg", dose="4 mg", library=lib)["verdict"] == "error"


def test_seal_restores_a_reviewed_edit(tmp_path):
    text = seal_text(tampered_doc())
    lib = druglib.loads(text)
    assert lib.verified
    assert lib.sha256 != raw()["sha256"]


def test_sha256_fallback_matches_hashlib():
    for n in (0, 1, 55, 56, 63, 64, 65, 119, 120, 1000):
        data = bytes((i * 7 + 3) & 0xFF for i in range(n))
        assert sha256_digest(data) == hashlib.sha256(data).digest(), n
    body = druglib.canonical_bytes(raw())
    assert sha256_digest(body).hex() == raw()["sha256"]


def test_file_is_next_to_the_module():
    assert os.path.dirname(PATH) == os.path.dirname(os.path.abspath(druglib.__file__))


def test_canonical_encoding_escapes_and_sorts():
    doc = {"b": ['q"uote', "back\\slash", "new\nline", "\u00b5g \u2014 ok"], "a": {"z": 1, "y": None, "x": True}}
    assert druglib.canonical_bytes(doc) == (
        '{"a":{"x":true,"y":null,"z":1},"b":["q\\"uote","back\\\\slash","new\\u000aline","\u00b5g \u2014 ok"]}'
    ).encode("utf-8")
