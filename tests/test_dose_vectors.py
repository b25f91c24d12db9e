"""clinical.md section 13: the 25 dose-check vectors and the extra edge cases.

Expected numbers are recomputed here from the clinical numbers (section 3,
4, 5, 11, 12 values written out below, with Fraction arithmetic), never read
back from the drug library.
"""
import math
from fractions import Fraction as F

import pytest

from dose_vectors import VECTORS
from firmware.core import dosecheck

KW = dict(VECTORS)
LB_KG = F("2.20462262")  # clinical.md section 12: kg = lb / 2.20462262


def check(vid, **extra):
    kw = dict(KW[vid])
    kw.update(extra)
    return dosecheck.check_dose(**kw)


def mg(x):
    """mg (Fraction/int) -> integer micrograms, exact."""
    ug = F(x) * 1000
    assert ug.denominator == 1
    return int(ug)


def codes(v):
    return [lim["code"] for lim in v["limits"]]


def has_msg(v, *words):
    return any(all(w in m for w in words) for m in v["messages"])


# --- AES / ESETT numbers (clinical.md sections 0, 3, 4, 11) ---
LORAZEPAM_MG_PER_KG, LORAZEPAM_MAX_MG, LORAZEPAM_RATE_MG_MIN = F("0.1"), 4, 2
FOS_PE_PER_KG, FOS_MAX_PE, FOS_ADULT_RATE, FOS_CHILD_RATE_PER_KG = 20, 1500, 150, 2
LEV_PER_KG, LEV_MAX = 60, 4500
VPA_PER_KG, VPA_MAX = 40, 3000
ESETT_FLAT = {"lorazepam": 4, "diazepam": 10, "midazolam": 10}
ESETT_PER_KG = {"lorazepam": F("0.1"), "diazepam": F("0.3"), "midazolam_im": F("0.3"), "midazolam_iv": F("0.2")}


def bzd_permille(dose_mg, threshold_mg):
    return math.floor(F(dose_mg) / F(threshold_mg) * 1000)


def test_v01_lorazepam_4mg_70kg_adequate():
    v = check("v01")
    c = min(LORAZEPAM_MG_PER_KG * 70, LORAZEPAM_MAX_MG)
    assert c == 4
    assert v["verdict"] == "adequate"
    assert v["target_ug"] == mg(c) and v["maximum_ug"] == mg(LORAZEPAM_MAX_MG)
    assert v["bzd_permille"] == bzd_permille(4, ESETT_FLAT["lorazepam"]) == 1000
    assert v["counts_as_adequate"] is True and v["counts_toward"] == "benzodiazepine"


def test_v02_lorazepam_2mg_70kg_underdosed():
    v = check("v02")
    assert F(2) / min(LORAZEPAM_MG_PER_KG * 70, 4) < F("0.9")
    assert v["verdict"] == "underdosed"
    assert v["bzd_permille"] == bzd_permille(2, 4) == 500
    assert v["counts_as_adequate"] is False
    assert has_msg(v, "underdosed: established-SE criteria not met")


def test_v03_lorazepam_2mg_20kg_adequate():
    v = check("v03")
    c = min(LORAZEPAM_MG_PER_KG * 20, 4)
    assert v["verdict"] == "adequate" and v["target_ug"] == mg(c) == 2000
    # ESETT < 32 kg: 0.1 mg/kg x 20 kg = 2 mg
    assert v["bzd_permille"] == bzd_permille(2, ESETT_PER_KG["lorazepam"] * 20) == 1000


def test_v04_lorazepam_decimal_slip_hard():
    v = check("v04")
    c = min(LORAZEPAM_MG_PER_KG * 20, 4)
    assert 20 > 2 * c
    assert v["verdict"] == "hard"
    assert "dose_over_hard" in codes(v)
    assert has_msg(v, "10 times")


def test_v05_lorazepam_pushed_over_1min_soft_rate():
    v = check("v05")
    assert F(4, 1) > LORAZEPAM_RATE_MG_MIN  # 4 mg/min > 2 mg/min
    assert v["verdict"] == "soft"
    assert codes(v) == ["rate_soft"]
    assert v["min_seconds"] == math.ceil(F(4) / LORAZEPAM_RATE_MG_MIN * 60) == 120
    assert v["bzd_permille"] == 1000  # the amount is still adequate for staging


def test_v06_midazolam_im_55kg_adequate():
    v = check("v06")
    assert v["verdict"] == "adequate" and v["target_ug"] == mg(10)  # > 40 kg band


def test_v07_midazolam_im_25kg_adequate_but_esett_underdosed():
    v = check("v07")
    assert v["verdict"] == "adequate" and v["target_ug"] == mg(5)  # 13-40 kg band
    esett = ESETT_PER_KG["midazolam_im"] * 25
    assert esett == F("7.5")
    assert v["bzd_permille"] == bzd_permille(5, esett) == 666
    assert v["counts_as_adequate"] is False
    assert has_msg(v, "underdosed: established-SE criteria not met", "7.5 mg")


def test_v08_midazolam_im_exactly_40kg_is_lower_band_soft():
    v = check("v08")
    c = 5  # 40 kg is in the 13-40 band
    assert F("1.1") * c < 10 <= 2 * c
    assert v["verdict"] == "soft" and v["target_ug"] == mg(c)
    assert codes(v) == ["dose_over_soft"]


def test_v09_diazepam_rectal_25mg_30kg_soft():
    v = check("v09")
    lo, hi = min(F("0.2") * 30, 20), min(F("0.5") * 30, 20)
    assert (lo, hi) == (6, 15)
    assert F("1.1") * hi < 25 <= 2 * hi
    assert v["verdict"] == "soft"
    assert v["target_low_ug"] == mg(lo) and v["target_high_ug"] == mg(hi)
    assert has_msg(v, "above the 20 mg maximum per dose")


def test_v10_fosphenytoin_70kg_over_10min_adequate():
    v = check("v10")
    c = min(FOS_PE_PER_KG * 70, FOS_MAX_PE)
    assert c == 1400 and F(1400, 10) <= FOS_ADULT_RATE
    assert v["verdict"] == "adequate" and v["target_ug"] == mg(c)
    assert v["second_line_adequate"] is True and v["counts_as_adequate"] is True
    assert v["volume_ul"] == 1400 * 1000 // 50  # 50 mg PE/mL -> 28 mL
    assert v["volume_ml"] == "28"


def test_v11_fosphenytoin_100kg_2000_soft_over_max():
    v = check("v11")
    c = min(FOS_PE_PER_KG * 100, FOS_MAX_PE)
    assert c == 1500 and F("1.1") * c < 2000 <= 2 * c
    assert v["verdict"] == "soft" and v["target_ug"] == mg(1500)


def test_v12_fosphenytoin_over_5min_hard_rate():
    v = check("v12")
    assert F(1400, 5) > FOS_ADULT_RATE
    assert v["verdict"] == "hard" and codes(v) == ["rate_hard"]
    # minimum duration 1400/150 = 9.33 min
    assert v["min_seconds"] == math.ceil(F(1400, FOS_ADULT_RATE) * 60) == 560
    assert v["min_minutes"] == "9.4"  # rounded up, never faster than the limit


def test_v13_fosphenytoin_20kg_at_exactly_the_child_limit_adequate():
    v = check("v13")
    limit = min(FOS_CHILD_RATE_PER_KG * 20, FOS_ADULT_RATE)
    assert limit == 40 and F(400, 10) == limit
    assert v["verdict"] == "adequate" and v["age_group"] == "child"


def test_v14_fosphenytoin_20kg_over_5min_hard():
    v = check("v14")
    assert F(400, 5) > min(FOS_CHILD_RATE_PER_KG * 20, FOS_ADULT_RATE)
    assert v["verdict"] == "hard" and codes(v) == ["rate_hard"]
    assert v["min_seconds"] == 600


def test_v15_fosphenytoin_sodium_entered_underdosed_with_prompt():
    v = check("v15")
    pe = F(1400) / F("1.5")
    assert pe / 1400 < F("0.9")
    assert v["verdict"] == "underdosed"
    assert v["dose_ug"] == math.floor(pe * 1000) == 933333
    assert has_msg(v, "enter fosphenytoin in mg PE")
    assert v["second_line_adequate"] is False


def test_v16_fosphenytoin_vial_misread_hard():
    v = check("v16")
    c = min(FOS_PE_PER_KG * 25, FOS_MAX_PE)
    assert c == 500 and F(5000, c) == 10
    assert v["verdict"] == "hard"


def test_v17_levetiracetam_4200_adequate():
    v = check("v17")
    assert min(LEV_PER_KG * 70, LEV_MAX) == 4200
    assert v["verdict"] == "adequate" and v["second_line_adequate"] is True


def test_v18_levetiracetam_1000_underdosed_aes_adequate_ncs():
    v = check("v18")
    assert F(1000, 4200) < F("0.9")
    assert v["verdict"] == "underdosed" and v["second_line_adequate"] is False
    n = check("v18ncs")  # NCS 1000-3000 mg flat
    assert n["verdict"] == "adequate" and n["second_line_adequate"] is True
    assert n["target_low_ug"] == mg(1000) and n["target_high_ug"] == mg(3000)


def test_v19_levetiracetam_lb_as_kg_hard():
    v = check("v19")
    w_kg = F(44) / LB_KG
    assert v["weight_g"] == round(w_kg * 1000)  # 19958 g
    c = LEV_PER_KG * w_kg
    assert F(2640) / c > 2
    assert v["verdict"] == "hard"
    assert abs(F(v["target_ug"], 1000) - c) < F(1, 10)


@pytest.mark.parametrize("vid", ["v20", "v20ncs"])
def test_v20_valproate_over_10min_adequate(vid):
    v = check(vid)
    assert min(VPA_PER_KG * 60, VPA_MAX) == 2400
    # the rate the checker read: mg/kg/min = ug / g / min, within 3-6 (NCS) and = ESETT 4
    assert admin_mg_kg_min(v) == F(2400, 10) / 60 == 4
    assert v["verdict"] == "adequate"
    assert has_msg(v, "note:", "20 mg/min")  # the label limit is shown as advice


@pytest.mark.parametrize("vid", ["v21", "v21ncs"])
def test_v21_valproate_over_5min_soft(vid):
    v = check(vid)
    assert admin_mg_kg_min(v) == 8  # > 6 (NCS) and > 4 (ESETT)
    assert v["verdict"] == "soft" and codes(v) == ["rate_soft"]


def test_v22_propofol_90_for_72h_soft_pris():
    v = check("v22")
    r = mcg_kg_min(v)
    assert r == 90 and 30 <= r <= 200 and r > 80  # inside the NCS range, above the PRIS 80
    assert v["duration_s"] == 72 * 3600 > 48 * 3600
    assert v["verdict"] == "soft" and codes(v) == ["rate_rule"]
    assert has_msg(v, "propofol infusion syndrome")
    mg_h = F(90) * 60 / 1000 * 70
    assert mg_h == 378
    assert v["pump_ml_h"] == "37.8" and v["pump_ul_h"] == int(mg_h / 10 * 1000)
    assert v["rate_ng_per_kg_h"][0] == 90 * 60 * 1000 * v["rate_ng_per_kg_h"][1]


def test_v22_without_duration_is_not_soft_but_advises():
    v = check("v22", duration=None)
    assert v["verdict"] == "adequate"
    assert has_msg(v, "no planned duration")


def test_v22_at_48h_exactly_is_not_over_48h():
    assert check("v22", duration="48 h")["verdict"] == "adequate"
    assert check("v22", duration="48.1 h")["verdict"] == "soft"


def test_v23_propofol_mg_for_mcg_hard():
    v = check("v23")
    assert mcg_kg_min(v) == 80 * 1000 > 200  # read as 80 mg: 80000 mcg/kg/min
    assert v["verdict"] == "hard" and codes(v) == ["rate_over_hard"]


def test_v24_midazolam_per_min_for_per_h_hard():
    v = check("v24")
    assert mg_kg_h(v) == F("0.2") * 60 == 12 and mg_kg_h(v) > 3
    assert v["verdict"] == "hard"
    assert v["rate"] == "12 mg/kg/h"


def test_v25_ketamine_bolus_adequate_infusion_soft():
    b = check("v25bolus")
    per_kg = F(b["dose_ug"], b["weight_g"])  # ug/g = mg/kg
    assert per_kg == F("1.5") and F("0.5") <= per_kg <= F("4.5")
    assert b["verdict"] == "adequate"
    r = check("v25rate")
    assert 5 < mg_kg_h(r) == 6 <= 10  # above the NCS 5, not above the hard 10
    assert r["verdict"] == "soft" and codes(r) == ["rate_over_soft"]
    assert mcg_kg_min(r) == 100  # = 100 mcg/kg/min, as the vector says


def mcg_kg_min(v):
    """The infusion rate the checker computed, in mcg/kg/min (exact)."""
    num, den = v["rate_ng_per_kg_h"]
    return F(num, den * 60000)


def mg_kg_h(v):
    num, den = v["rate_ng_per_kg_h"]
    return F(num, den * 1000000)


def admin_mg_kg_min(v):
    """A bolus's administration rate as the checker read it: dose / time / weight."""
    return F(v["dose_ug"] * 60, v["over_s"] * v["weight_g"])


# ---------------- extra edge cases (section 13) ----------------

@pytest.mark.parametrize("vid,drug,dose_mg", [
    ("esett319_lorazepam", "lorazepam", F("3.19")),
    ("esett319_diazepam", "diazepam", F("9.57")),
    ("esett319_midazolam_im", "midazolam_im", F("9.57")),
])
def test_esett_at_31_9_kg_thresholds(vid, drug, dose_mg):
    thr = ESETT_PER_KG[drug] * F("31.9")
    assert thr == dose_mg  # 3.19 / 9.57 / 9.57 mg
    v = check(vid)
    assert v["bzd_permille"] == 1000 and v["counts_as_adequate"] is True


def test_esett_just_below_threshold_is_not_adequate():
    v = check("esett319_lorazepam_low")
    assert v["bzd_permille"] == bzd_permille(F("3.18"), F("0.1") * F("31.9")) == 996
    assert v["counts_as_adequate"] is False


def test_esett_exactly_32kg_uses_flat_adult_dose():
    v = check("esett32_lorazepam")  # 3.2 mg = 0.1 mg/kg, but >= 32 kg needs 4 mg
    assert v["bzd_permille"] == bzd_permille(F("3.2"), 4) == 800
    assert v["counts_as_adequate"] is False


def test_mixed_benzodiazepines_fractional_sum():
    first = check("mixed_lorazepam")
    assert first["bzd_permille"] == bzd_permille(2, 4) == 500
    second = check("mixed_midazolam")
    assert second["bzd_permille"] == bzd_permille(5, 10) == 500
    assert second["bzd_cumulative_permille"] == 1000
    assert second["counts_as_adequate"] is True
    assert has_msg(second, "benzodiazepine gate met")


def test_levetiracetam_90kg_within_ncs_rate():
    v = check("lev90_ncs")
    assert admin_mg_kg_min(v) == F(4500, 10) / 90 == 5
    assert "rate_soft" not in codes(v)


def test_levetiracetam_60kg_rate_depends_on_reference():
    a = check("lev60_aes")
    assert admin_mg_kg_min(a) == F(3600, 10) / 60 == 6
    assert a["verdict"] == "adequate" and "rate_soft" not in codes(a)
    n = check("lev60_ncs")
    assert "rate_soft" in codes(n) and n["verdict"] == "soft"


# ---------------- other table entries ----------------

def test_bare_number_and_missing_weight_unit_are_errors():
    v = check("bare_number")
    assert v["verdict"] == "error" and has_msg(v, "no unit")
    w = check("weight_no_unit")
    assert w["verdict"] == "error" and has_msg(w, "weight", "no unit")


def test_fosphenytoin_plain_mg_is_error_not_guess():
    v = check("fos_plain_mg")
    assert v["verdict"] == "error" and has_msg(v, "mg PE")


def test_volume_entries_use_the_concentration():
    v = check("lorazepam_ml")
    assert v["dose_ug"] == 4000 and v["verdict"] == "adequate"
    p = check("propofol_ml_h")  # 37.8 mL/h of 10 mg/mL at 70 kg = 90 mcg/kg/min
    assert p["rate"] == "90 mcg/kg/min"


def test_volume_without_concentration_when_ambiguous_is_error():
    v = check("lorazepam_ml", concentration=None)
    assert v["verdict"] == "error" and has_msg(v, "give the concentration")


def test_repeat_rules_use_history():
    v = check("lorazepam_third")
    assert "repeat_count" in codes(v) and v["verdict"] == "soft"
    s = check("lorazepam_too_soon")  # 5 min after the first; AES/label 10 min
    assert "repeat_interval" in codes(s)
    assert "repeat_interval" not in codes(check("lorazepam_too_soon", reference="ncs"))  # NCS 5 min


def test_weight_plausibility_names_the_problem():
    v = check("weight_lb_slip")
    assert v["verdict"] == "soft"
    # clinical.md Review round 2 rule 2: the previous weight is shown with the question
    assert has_msg(v, "weight 154 kg is 2.2 times the previous 70 kg", "was the weight entered in lb?")
    assert codes(v) == ["weight_lb_as_kg"]
    c = check("child_154kg")
    assert c["verdict"] == "soft" and has_msg(c, "weight 154 kg is above the plausible range", "entered in lb?")


def test_not_covered_is_error():
    assert check("lacosamide_child")["verdict"] == "error"
    m = check("midazolam_im_10kg")
    assert m["verdict"] == "error" and has_msg(m, "below 13 kg")


def test_inferred_adult_gets_paediatric_boxed_limit_as_soft():
    v = check("fos_adult_inferred_ped_rate")
    # 1200 mg PE over 9 min = 133 mg PE/min: below 150 (adult), above 2 x 60 = 120 (child)
    pe_min = F(v["dose_ug"] * 60, v["over_s"] * 1000)
    assert pe_min == F(1200, 9) and pe_min < 150 and pe_min > 2 * 60
    assert v["verdict"] == "soft" and has_msg(v, "confirm")
    assert check("fos_adult_inferred_ped_rate", age_group="adult")["verdict"] == "adequate"
    assert check("fos_adult_inferred_ped_rate", age_group="child")["verdict"] == "hard"


def test_phenytoin_child_rate():
    v = check("phenytoin_child")  # 2 mg/kg/min: above NCS 1 mg/kg/min (soft), below label 3 and 50 mg/min
    assert v["verdict"] == "soft" and codes(v) == ["rate_soft"]


def test_every_vector_runs_and_gives_a_known_verdict():
    for vid, kw in VECTORS:
        v = dosecheck.check_dose(**kw)
        assert v["verdict"] in dosecheck.VERDICTS, vid
        assert v["messages"], vid
