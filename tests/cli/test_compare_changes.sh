#!/usr/bin/env bash
# sjtalign compare with paired bootstrap replicates (hand-made bootstrap.csv
# files, tests/fixtures/report/bootstrap/, 5 replicates) and the expert
# panel (tests/fixtures/report/panel.json, a hostile judge name): change
# intervals against type-7 percentiles worked by hand, the verdicts
# improved / worse / within noise, a mismatched seed (no interval, a
# warning), the held-out note, the panel section, and exit 2 for a bad
# bootstrap.csv or panel file.
#
# Type 7 with 5 replicates: lo = x0 + 0.1 (x1 - x0), hi = x3 + 0.9 (x4 - x3)
# of the sorted changes. PPO's changes |after| - |before| per replicate:
#   sjt1 -0.02 0.04 -0.07 0.04 -0.04 -> [-0.067, 0.040]   within noise
#   sjt2  0.11 0.13  0.07 0.20  0.09 -> [ 0.072, 0.193]   worse (class AA->AA)
#   sjt3 -0.28 -0.34 -0.28 -0.25 -0.21 -> [-0.334, -0.214] improved (CC->AA)
#   sjt4  0.01 NA NA -0.02 0.02 (3 finite, h = 0.05 and 1.95)
#                                     -> [-0.0185, 0.0195] within noise
#   sjt5 -0.08 0.01 -0.03 0.04 -0.13 -> [-0.125, 0.037]   within noise (CC->BB)
#   sjt6: no replicates after         -> class rule, "(no interval)"
# QWK after - before: 0.01 -0.01 0.01 0.02 -0.01 -> [-0.010, 0.019] within noise
# |d| change: 0.18 0.10 0.21 0.17 0.19 -> [0.107, 0.208] worse (the gap widened)
# PRMSE change: 0.05 0.04 0.06 0.02 0.09 -> [0.022, 0.087] improved
. "$(dirname "$0")/lib.sh"
FIX="$SJTALIGN_ROOT/tests/fixtures/report"
BOOT="$FIX/bootstrap"
CHECK="$SJTALIGN_ROOT/tests/report/check_html.py"

# audit NAME DATA BOOTSTRAP_CSV SEED SPLIT: an audit whose bootstrap object
# and bootstrap.csv are set by hand, and an evaluation object of the split.
audit() {
    "$SJTALIGN" audit --data "$FIX/$2" --instrument "$FIX/instrument.json" --group group \
        --reference ref --focal foc --human human_score --cut 9 --out "$TMP/$1" 2>/dev/null
    python3 - "$TMP/$1" "$3" "$4" "$5" <<'EOF'
import json, shutil, sys
d, csv, seed, split = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
doc = json.load(open(d + "/audit.json"))
doc["bootstrap"] = {"replicates": 5, "seed": seed, "level": 0.95, "method": "percentile",
                    "persons": 240, "persons_sha256": "a" * 64, "file": "bootstrap.csv"}
doc["evaluation"] = {"sample": "heldout", "fraction": 0.3, "persons_heldout": 240,
                     "persons_total": 800, "seed": 7, "split_sha256": split * 64}
json.dump(doc, open(d + "/audit.json", "w"))
shutil.copy(csv, d + "/bootstrap.csv")
EOF
}
audit before before.csv "$BOOT/before.csv" 1 b
audit after after.csv "$BOOT/after.csv" 1 b
audit dpo after_dpo.csv "$BOOT/after.csv" 2 c

run_cmd compare --before "$TMP/before" --after "$TMP/after,$TMP/dpo" --labels SFT,PPO,DPO \
    --panel "$FIX/panel.json" --out "$TMP/cmp"
expect_exit 0 "compare with replicates and a panel"
expect_err_contains "panel_judges.csv" "the panel's judges are written"

if python3 - "$TMP/cmp/compare.json" 2>"$TMP/err" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
def close(a, b):
    return abs(a - b) < 1e-12
want = {"sjt1": (-0.067, 0.040, "within noise", 5), "sjt2": (0.072, 0.193, "worse", 5),
        "sjt3": (-0.334, -0.214, "improved", 5), "sjt4": (-0.0185, 0.0195, "within noise", 3),
        "sjt5": (-0.125, 0.037, "within noise", 5)}
for it in d["items"]:
    c = it["change_by_label"]["PPO"]
    if it["item"] in want:
        lo, hi, v, m = want[it["item"]]
        assert close(c["abs_effect_change_ci"][0], lo) and close(c["abs_effect_change_ci"][1], hi), (it["item"], c)
        assert c["verdict"] == v and c["replicates"] == m and c["basis"] == "interval", (it["item"], c)
    else:
        assert c["abs_effect_change_ci"] is None and c["verdict"] == "same class (no interval)", c
    # DPO's seed differs: no interval for any of its changes.
    assert it["change_by_label"]["DPO"]["abs_effect_change_ci"] is None
sjt5 = [i for i in d["items"] if i["item"] == "sjt5"][0]["change_by_label"]["PPO"]
assert (sjt5["class_before"], sjt5["class_after"]) == ("CC", "BB"), sjt5
ch = {(c["statistic"], c["scope"]): c for c in d["changes_by_label"]["PPO"]}
q = ch[("agreement.qwk", "all")]
assert close(q["change_ci"][0], -0.010) and close(q["change_ci"][1], 0.019) and q["verdict"] == "within noise", q
assert abs(q["change"] - (q["after"] - q["before"])) < 1e-15
p = ch[("parity.cohens_d", "all")]
assert close(p["change_ci"][0], 0.107) and close(p["change_ci"][1], 0.208) and p["verdict"] == "worse", p
assert p["compared"] == "absolute value" and p["better"] == "closer to zero"
r = ch[("raters.prmse", "all")]
assert close(r["change_ci"][0], 0.022) and close(r["change_ci"][1], 0.087) and r["verdict"] == "improved", r
assert r["before"] is None and r["after"] is None  # the audits have no raters section
assert ("custom.only_before", "all") not in ch  # only in the before audit's file
assert ch[("agreement.qwk", "foc")]["change_ci"] is None  # no replicates for it
assert ch[("agreement.qwk", "foc")]["verdict"].endswith("(no interval)")
for c in d["changes_by_label"]["DPO"]:
    assert c["change_ci"] is None and (c["verdict"].endswith("(no interval)") or c["verdict"] == "not comparable"), c
b = d["bootstrap"]["by_label"]
assert b["PPO"]["paired"] is True and b["DPO"]["paired"] is False
seed_warning = ("no change interval for SFT \u2192 DPO: the audits of SFT and DPO used different "
                "bootstrap seeds (1 and 2), so their replicates resample different persons")
assert seed_warning in d["warnings"], d["warnings"]
assert ("SFT and DPO were evaluated on different persons: their held-out splits differ "
        "(split_sha256)") in d["warnings"], d["warnings"]
assert d["evaluation"]["same_persons"] is False
assert d["evaluation"]["by_label"]["PPO"]["persons_heldout"] == 240
s = d["summary"]
assert s[0] == ("Evaluated on different persons (see the warnings): SFT on 240 held-out persons of "
                "800 (30% held out; split seed 7); PPO on 240 held-out persons of 800 (30% held "
                "out; split seed 7); DPO on 240 held-out persons of 800 (30% held out; split seed 7)"), s[0]
assert s[1] == ("DIF (SFT -> PPO): items flagged B/C 2 -> 1; improved: sjt3 CC->AA (|SMD/SD| change "
                "-0.304, 95% interval -0.334 to -0.214); worse: sjt2 AA->AA (|SMD/SD| change +0.131, "
                "95% interval +0.072 to +0.193); within noise: 3 items (class changed: sjt5 CC->BB)"), s[1]
assert any(l.startswith("Several raters (SFT -> PPO): PRMSE (change, 95% interval +0.022 to +0.087: improved)") for l in s), s
assert any(l.startswith("Alignment tax (SFT -> PPO): none, agreement held within noise") for l in s), s
assert s[-1].startswith("Expert panel: 200 judgments of 120 pairs by 3 judges, 14 ties; Krippendorff's alpha 0.712 (tentative"), s[-1]
assert s[-1].endswith("flagged judges: <script>alert(1)</script> (=HYPERLINK(\"x\"); prefers the higher score for one group's responses)"), s[-1]
assert d["panel"]["kind"] == "sjtalign-panel" and len(d["panel"]["judges"]) == 3
assert [i["role"] for i in d["provenance"]["inputs"]][-1] == "panel"
EOF
then
    pass "compare.json: intervals, verdicts, warnings and the held-out note as worked by hand"
else
    fail "compare.json: intervals, verdicts, warnings and the held-out note as worked by hand" "$(cat "$TMP/err")"
fi

if python3 - "$TMP/cmp/changes.csv" "$TMP/cmp/panel_judges.csv" 2>"$TMP/err" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert list(rows[0])[:14] == ["before", "after", "statistic", "scope", "label", "compared",
    "value_before", "value_after", "change", "change_ci_low", "change_ci_high", "verdict",
    "class_before", "class_after"], list(rows[0])
r = {(x["after"], x["statistic"], x["scope"]): x for x in rows}
s3 = r[("PPO", "dif.smd_over_sd", "sjt3")]
assert abs(float(s3["change_ci_low"]) + 0.334) < 1e-12 and abs(float(s3["change_ci_high"]) + 0.214) < 1e-12, s3
assert (s3["verdict"], s3["class_before"], s3["class_after"]) == ("improved", "CC", "AA"), s3
s5 = r[("PPO", "dif.smd_over_sd", "sjt5")]
assert (s5["verdict"], s5["class_before"], s5["class_after"]) == ("within noise", "CC", "BB"), s5
d3 = r[("DPO", "dif.smd_over_sd", "sjt3")]
assert d3["change_ci_low"] == "NA" and d3["verdict"] == "improved (no interval)", d3
q = r[("PPO", "agreement.qwk", "all")]
assert q["label"] == "QWK with the human scores, overall" and q["verdict"] == "within noise", q
judges = list(csv.DictReader(open(sys.argv[2], newline="")))
assert [j["judge"] for j in judges] == ["expert_1", "<script>alert(1)</script>", "expert_3"]
# A cell that a spreadsheet would run as a formula is neutralised.
assert judges[1]["flags"].startswith("'=HYPERLINK"), judges[1]
assert judges[1]["group_difference_ci_low"] == "-0.61" and judges[2]["majority_agreement"] == "NA"
assert judges[1]["group_p_holm"] == "0.003" and judges[0]["group_p_holm"] == "NA"
EOF
then
    pass "changes.csv has the intervals; panel_judges.csv one neutralised row per judge"
else
    fail "changes.csv has the intervals; panel_judges.csv one neutralised row per judge" "$(cat "$TMP/err")"
fi

if python3 "$CHECK" "$TMP/cmp/index.html" --forbid "<script>alert(1)" --forbid "<b>2</b>" \
    --expect "within noise" --expect "Persons evaluated." --expect "6. The expert panel" \
    --expect "Krippendorff's alpha 0.712" --expect "<script>alert(1)</script>" \
    --expect "Judge <b>2</b> disagrees with the majority" --expect ".001 (Holm .003)" \
    --expect "Within noise: 3 items (the interval of the change in |effect| holds zero; class changed all the same: sjt5 CC→BB)" \
    --expect "Several raters (PRMSE, degradation): change from SFT" \
    --expect "CC→BB, −0.083 [−0.125, +0.037] within noise" >"$TMP/check" 2>&1; then
    pass "the page shows intervals, verdicts, the held-out note and the panel, escaped"
else
    fail "the page shows intervals, verdicts, the held-out note and the panel, escaped" "$(cat "$TMP/check")"
fi

# The same persons everywhere: the held-out note names them once.
run_cmd compare --before "$TMP/before" --after "$TMP/after" --labels SFT,PPO --out "$TMP/cmp2"
expect_exit 0 "compare two audits of the same held-out persons"
if python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert d['summary'][0] == 'Evaluated on 240 held-out persons of 800 (30% held out; split seed 7), the same persons in every audit: persons no training stage saw', d['summary'][0]
assert d['warnings'] == [], d['warnings']
assert d['panel'] is None
" "$TMP/cmp2/compare.json" 2>"$TMP/err"; then
    pass "held-out note for the same persons, no warning"
else
    fail "held-out note for the same persons, no warning" "$(cat "$TMP/err")"
fi

# A bootstrap.csv the audit names but the folder lacks: a warning, no interval.
cp -r "$TMP/after" "$TMP/nofile" && rm "$TMP/nofile/bootstrap.csv"
run_cmd compare --before "$TMP/before" --after "$TMP/nofile" --labels SFT,PPO --out "$TMP/cmp3"
expect_exit 0 "compare with a missing bootstrap.csv"
if python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert any(w.startswith('the audit of PPO records a bootstrap, but ') and w.endswith('bootstrap.csv is missing: no change interval for PPO') for w in d['warnings']), d['warnings']
assert all(i['change']['basis'] == 'class' for i in d['items'])
" "$TMP/cmp3/compare.json" 2>"$TMP/err"; then
    pass "a missing bootstrap.csv: warning and the class rule"
else
    fail "a missing bootstrap.csv: warning and the class rule" "$(cat "$TMP/err")"
fi

# A bad bootstrap.csv: exit 2 naming file, line and column.
cp -r "$TMP/after" "$TMP/badnum"
sed -i '5s/,0\.02$/,abc/' "$TMP/badnum/bootstrap.csv"
run_cmd compare --before "$TMP/before" --after "$TMP/badnum" --out "$TMP/bad1"
expect_exit 2 "a bootstrap.csv with a bad number"
expect_err_contains "badnum/bootstrap.csv:5:4: column 'value': expected a finite number, found 'abc'" \
    "the bad number is named by file, line and column"
cp -r "$TMP/after" "$TMP/short"
sed -i '/^raters.prmse,all,5,/d' "$TMP/short/bootstrap.csv"
run_cmd compare --before "$TMP/before" --after "$TMP/short" --out "$TMP/bad2"
expect_exit 2 "a bootstrap.csv with a replicate row missing"
expect_err_contains "short/bootstrap.csv:9: statistic 'raters.prmse', scope 'all' has 4 replicate rows; expected 5" \
    "the short series is named by file and its first line"
[ ! -e "$TMP/bad1" ] && [ ! -e "$TMP/bad2" ] && pass "nothing written" || fail "nothing written"

# A panel file that is not a panel.json.
run_cmd compare --before "$TMP/before" --after "$TMP/after" --panel "$TMP/before/audit.json" --out "$TMP/bad3"
expect_exit 2 "--panel with an audit.json"
expect_err_contains "not a panel document" "the panel file is refused by kind"

# An audit without --split records only its sample: not held-out persons.
cp -r "$TMP/before" "$TMP/nosplit"
python3 - "$TMP/nosplit/audit.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["evaluation"] = {"sample": "all responses in the scores file"}
json.dump(d, open(sys.argv[1], "w"))
EOF
run_cmd compare --before "$TMP/nosplit" --after "$TMP/after" --labels SFT,PPO --out "$TMP/cmp4"
expect_exit 0 "compare an audit without a split with one on held-out persons"
if python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert 'SFT and PPO were evaluated on different persons: one of them on held-out persons, the other on every person in its scores' in d['warnings'], d['warnings']
assert d['summary'][0].startswith('Evaluated on different persons (see the warnings): SFT on every person in its scores; PPO on 240 held-out persons of 800'), d['summary'][0]
" "$TMP/cmp4/compare.json" 2>"$TMP/err"; then
    pass "a split in one audit only: warned"
else
    fail "a split in one audit only: warned" "$(cat "$TMP/err")"
fi
