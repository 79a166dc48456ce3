#!/usr/bin/env bash
# sjtalign audit --bootstrap/--seed: bootstrap.csv with B rows per statistic
# and scope, intervals in audit.json and the CSV tables equal to the type-7
# percentiles of the replicates (recomputed here in Python), the same seed
# giving identical files, another seed other replicates, --bootstrap 0 no
# bootstrap at all; human_dif.csv with the verdicts.
. "$(dirname "$0")/lib.sh"
FIX="$SJTALIGN_ROOT/tests/fixtures/report"

audit() {
    run_cmd audit --data "$FIX/before.csv" --instrument "$FIX/instrument.json" --group group \
        --reference ref --focal foc --human human_score --purify "$@"
}

run_cmd audit --help
expect_out_contains "--bootstrap B" "help names --bootstrap"
expect_out_contains "--seed S" "help names --seed"

audit --bootstrap 120 --seed 7 --out "$TMP/a"
expect_exit 0 "audit with 120 replicates"
audit --bootstrap 120 --seed 7 --out "$TMP/b"
expect_exit 0 "the same audit again"
audit --bootstrap 120 --seed 8 --out "$TMP/c"
expect_exit 0 "the audit with another seed"

for f in bootstrap.csv human_dif.csv; do
    if [ -s "$TMP/a/$f" ]; then pass "writes $f"; else fail "writes $f"; fi
done

if python3 - "$TMP/a" <<'EOF' 2>"$TMP/err"; then
import csv, json, math, sys
from collections import defaultdict
d = sys.argv[1]
doc = json.load(open(d + "/audit.json"))
rows = list(csv.DictReader(open(d + "/bootstrap.csv")))
assert list(rows[0].keys()) == ["statistic", "scope", "replicate", "value"], rows[0].keys()
boot = doc["bootstrap"]
assert boot == {"replicates": 120, "seed": 7, "level": 0.95, "method": "percentile",
                "persons": 240, "persons_sha256": boot["persons_sha256"],
                "file": "bootstrap.csv"}, boot
assert len(boot["persons_sha256"]) == 64
# The statistics expected from the audit's own structure: per tested DIF
# item SMD and SMD/SD (polytomous) or delta (dichotomous), the human DIF
# effect, the change; agreement (3 statistics x all, ref, foc), fairness
# (3), parity (2).
expected = set()
for it in doc["dif"]["items"]:
    if not it["tested"]:
        continue
    if it["type"] == "polytomous":
        expected |= {("dif.smd", it["item"]), ("dif.smd_over_sd", it["item"])}
    else:
        expected.add(("dif.delta_mh", it["item"]))
for it in doc["human_dif"]["items"]:
    if it["tested"]:
        key = "smd_over_sd" if it["type"] == "polytomous" else "delta_mh"
        expected |= {("human_dif." + key, it["item"]), ("dif_vs_human.abs_change", it["item"])}
for s in ("qwk", "smd", "pearson_r"):
    expected |= {("agreement." + s, g) for g in ("all", "ref", "foc")}
expected |= {("fairness." + m, "all") for m in ("osa", "osd", "csd")}
expected |= {("parity.mean_diff", "all"), ("parity.cohens_d", "all")}
reps = defaultdict(list)
for r in rows:
    reps[(r["statistic"], r["scope"])].append((int(r["replicate"]), r["value"]))
assert set(reps) == expected, set(reps) ^ expected
assert len(rows) == 120 * len(expected), (len(rows), len(expected))
for k, v in reps.items():
    assert [i for i, _ in v] == list(range(1, 121)), k

def values(key):
    return [float(x) for _, x in reps[key] if x != "NA"]

def type7(v, p):
    s = sorted(v)
    h = (len(s) - 1) * p
    f = math.floor(h)
    return s[f] + (h - f) * (s[f + 1] - s[f]) if f + 1 < len(s) else s[f]

def check(obj, key, stat, scope):
    v = values((stat, scope))
    lo, hi = obj[key + "_ci"]
    assert abs(lo - type7(v, 0.025)) < 1e-12 and abs(hi - type7(v, 0.975)) < 1e-12, (stat, scope)
    return lo, hi

it3 = doc["dif"]["items"][2]
check(it3, "smd_over_sd", "dif.smd_over_sd", "sjt3")
check(doc["agreement"], "qwk", "agreement.qwk", "all")
check(doc["agreement"]["fairness"]["osa"], "coef_focal", "fairness.osa", "all")
check(doc["parity"], "mean_diff", "parity.mean_diff", "all")
vs = {c["item"]: c for c in doc["dif_vs_human"]}
lo, hi = check(vs["sjt3"], "abs_change", "dif_vs_human.abs_change", "sjt3")
# The change is paired: replicate by replicate |machine| - |human|.
m = dict(reps[("dif.smd_over_sd", "sjt3")])
h = dict(reps[("human_dif.smd_over_sd", "sjt3")])
for i, x in reps[("dif_vs_human.abs_change", "sjt3")]:
    if x != "NA":
        assert abs(float(x) - (abs(float(m[i])) - abs(float(h[i])))) < 1e-9
# The CSV tables carry the same intervals as columns.
dif = list(csv.DictReader(open(d + "/dif.csv")))
assert float(dif[2]["smd_over_sd_ci_low"]) == it3["smd_over_sd_ci"][0]
par = list(csv.DictReader(open(d + "/parity.csv")))
assert par[0]["mean_diff_ci_low"] == "" and float(par[1]["cohens_d_ci_high"]) == doc["parity"]["cohens_d_ci"][1]
agr = list(csv.DictReader(open(d + "/agreement.csv")))
assert float(agr[0]["qwk_ci_low"]) == doc["agreement"]["qwk_ci"][0]
fair = list(csv.DictReader(open(d + "/fairness.csv")))
assert float(fair[2]["coef_focal_ci_high"]) == doc["agreement"]["fairness"]["csd"]["coef_focal_ci"][1]
hd = list(csv.DictReader(open(d + "/human_dif.csv")))
assert [r["item"] for r in hd] == [c["item"] for c in doc["dif_vs_human"]]
assert hd[2]["verdict"] == vs["sjt3"]["verdict"] and "abs_change_ci_low" in hd[2]
assert all(r["verdict"] in ("introduced", "amplified", "reduced", "inherited", "within noise", "none") for r in hd)
EOF
    pass "bootstrap.csv holds B rows per statistic; intervals are its type-7 percentiles"
else
    fail "bootstrap.csv holds B rows per statistic; intervals are its type-7 percentiles" "$(cat "$TMP/err")"
fi

if cmp -s "$TMP/a/bootstrap.csv" "$TMP/b/bootstrap.csv"; then
    pass "same seed: identical bootstrap.csv"
else
    fail "same seed: identical bootstrap.csv"
fi
if python3 -c "
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b):
    d['provenance'].pop('created')
    d['provenance'].pop('command')
assert a == b
" "$TMP/a/audit.json" "$TMP/b/audit.json" 2>"$TMP/err"; then
    pass "same seed: identical audit.json apart from its time and command line"
else
    fail "same seed: identical audit.json apart from its time and command line" "$(cat "$TMP/err")"
fi
if cmp -s "$TMP/a/bootstrap.csv" "$TMP/c/bootstrap.csv"; then
    fail "another seed: other replicates"
else
    pass "another seed: other replicates"
fi

audit --bootstrap 0 --out "$TMP/none"
expect_exit 0 "audit without bootstrap"
expect_no_file "$TMP/none/bootstrap.csv" "--bootstrap 0 writes no bootstrap.csv"
# The analytic intervals the page shows (the DIF effect +- 1.96 SE, the
# group means' t intervals, the DIF statistics' <key>_ci95_low/_high) stay;
# no bootstrap interval ("<key>_ci", <key>_ci_low/_high) is left.
if ! grep -v 'ets_effect_ci\|mean_t_ci' "$TMP/none/audit.json" "$TMP/none"/*.csv | grep -qE '_ci("|_low|_high)' &&
    ! grep -q '"bootstrap"' "$TMP/none/audit.json"; then
    pass "--bootstrap 0: no bootstrap interval keys or columns, no bootstrap object"
else
    fail "--bootstrap 0: no bootstrap interval keys or columns, no bootstrap object"
fi
if grep -q 'persons resampled' "$TMP/a/index.html" && grep -q 'B = 120 replicates, seed 7' "$TMP/a/index.html"; then
    pass "the page names B, the seed and the persons resampled"
else
    fail "the page names B, the seed and the persons resampled"
fi

# The page keeps the machine's DIF table to the machine's statistics and
# sets the human scores' DIF beside it in a table of its own: one row per
# item of dif_vs_human, with its classes and verdict.
if python3 - "$TMP/a" <<'EOF' 2>"$TMP/err"; then
import json, sys
from html.parser import HTMLParser
d = sys.argv[1]
doc = json.load(open(d + "/audit.json"))

class Tables(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self.cell = [], None
    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"caption": "", "head": [], "rows": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("th", "td", "caption"):
            self.cell = ""
    def handle_endtag(self, tag):
        if tag == "caption":
            self.tables[-1]["caption"] = self.cell
        elif tag == "th":
            self.tables[-1]["head"].append(self.cell)
        elif tag == "td":
            self.tables[-1]["rows"][-1].append(self.cell)
        if tag in ("th", "td", "caption"):
            self.cell = None
    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

p = Tables()
p.feed(open(d + "/index.html", encoding="utf-8").read())
dif = [t for t in p.tables if "Mantel \u03c7\u00b2 (p)" in t["head"]]
assert len(dif) == 1, len(dif)
assert not any("Human" in h or "|machine|" in h for h in dif[0]["head"]), dif[0]["head"]
assert dif[0]["head"][-1] == "Notes", dif[0]["head"]
side = [t for t in p.tables if t["caption"] == "Machine DIF beside the human scores' DIF"]
assert len(side) == 1, [t["caption"] for t in p.tables]
assert side[0]["head"] == ["Item", "Machine SMD/SD [bootstrap 95% CI]", "Class",
                           "Human SMD/SD [bootstrap 95% CI]", "Class",
                           "|machine| \u2212 |human| [bootstrap 95% CI]", "Verdict"], side[0]["head"]
rows = [r for r in side[0]["rows"] if r]
vs = doc["dif_vs_human"]
assert [r[0] for r in rows] == [c["item"] for c in vs], rows
fmt = lambda v: ("%.3f" % v).replace("-", "\u2212")
for r, c in zip(rows, vs):
    assert r[2] == c["machine"]["class"] and r[4] == c["human"]["class"], (r, c)
    assert r[6] == c["verdict"], (r, c)
    lo, hi = c["abs_change_ci"]
    assert r[5] == "%s [%s, %s]" % (fmt(c["abs_change"]), fmt(lo), fmt(hi)), (r, c)
EOF
    pass "the page: machine-only DIF table, then machine beside human DIF per item"
else
    fail "the page: machine-only DIF table, then machine beside human DIF per item" "$(cat "$TMP/err")"
fi

audit --bootstrap -1 --out "$TMP/bad"
expect_exit 2 "a negative --bootstrap is a usage error"
expect_no_file "$TMP/bad" "no report after the usage error"
