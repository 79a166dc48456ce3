# `sjtalign study` on a tiny study (2 seeds x 2 conditions of a reduced
# pipeline, plus one condition whose simulation cannot start): the outputs,
# their counts, a failed replication counted and left out, a re-run that
# runs nothing again, and a bad study file.
. "$(dirname "$0")/lib.sh"

mkdir -p "$TMP/s"
write_tiny_study_pipeline "$TMP/s"
cat >"$TMP/s/study.json" <<'JSON'
{
  "name": "tiny",
  "pipeline": "pipeline.json",
  "seeds": [3, 4],
  "conditions": [
    {"name": "one", "simulate": {"bias": "S01:0.6,S03:0.4", "impact": 0}},
    {"name": "two", "simulate": {"focal_share": 0.5, "impact": 0.5},
     "stages": {"ppo": {"steps": 3}}},
    {"name": "broken", "simulate": {"bias": "S09:0.5"}}
  ],
  "out": "out",
  "jobs": 2
}
JSON
cd "$TMP/s" || exit 1

started=$(date +%s)
run_cmd study study.json
elapsed=$(( $(date +%s) - started ))
echo "# tiny study: ${elapsed} s"
expect_exit 1 "a study with failed replications"
for f in study.json study.csv index.html; do
    if [ -s "out/$f" ]; then pass "out/$f written"; else fail "out/$f written"; fi
done
expect_no_temporaries out "no temporary files left in out/"
py() { python3 -c "import json,sys; d=json.load(open('out/study.json')); $1"; }
counts=$(py 'c=d["counts"]; print(c["replications"], c["ran"], c["up_to_date"], c["failed"])')
if [ "$counts" = "6 4 0 2" ]; then pass "6 replications: 4 ran, 2 failed"; else fail "6 replications: 4 ran, 2 failed" "$counts"; fi
kind=$(py 'print(d["schema_version"], d["kind"], len(d["summary"]), len(d["targets"]))')
# 3 conditions x 3 scorers; 5 targets for each aligned scorer of each condition.
if [ "$kind" = "1 study 9 30" ]; then pass "study.json: kind, 9 summaries, 30 targets"; else fail "study.json: kind, 9 summaries, 30 targets" "$kind"; fi
failed=$(py 'r=[x for x in d["replications"] if x["status"]=="failed"]; print(len(r), all(x["log"].endswith("run.log") and "exit code 2" in x["error"] for x in r))')
if [ "$failed" = "2 True" ]; then pass "failed replications keep their log and exit code"; else fail "failed replications keep their log and exit code" "$failed"; fi
grep -q "unknown item 'S09'" out/broken/seed-3/run.log && pass "the failure is in the replication's log" || fail "the failure is in the replication's log"
broken=$(py 's=[x for x in d["summary"] if x["condition"]=="broken" and x["model"]=="PPO"][0]; print(s["replications"], s["failed"])')
if [ "$broken" = "0 2" ]; then pass "failed replications are left out and counted"; else fail "failed replications are left out and counted" "$broken"; fi
items=$(py 's=[x for x in d["summary"] if x["condition"]=="one" and x["model"]=="DPO"][0]; print(s["replications"], [i["item"] for i in s["biased_items"]], s["reduction_all"]["n"])')
if [ "$items" = "2 ['S01', 'S03'] 2" ]; then pass "condition one: two replications, biased items S01 and S03"; else fail "condition one: two replications, biased items S01 and S03" "$items"; fi
# The reduction the targets read counts only replications whose SFT audit flagged a biased
# item (the bias was inherited); counted here from the SFT audits themselves.
inherited=$(py '
import glob
n = 0
for f in sorted(glob.glob("out/one/seed-*/reports/before/audit.json")):
    a = json.load(open(f))
    cls = {i["item"]: i.get("ets_poly_class") or i.get("ets_class") for i in a["dif"]["items"]}
    n += any(cls.get(k) in ("B", "C", "BB", "CC") for k in ("S01", "S03"))
s = [x for x in d["summary"] if x["condition"] == "one" and x["model"] == "DPO"][0]
print(n == s["reduction"]["n"])')
if [ "$inherited" = "True" ]; then pass "the reduction reads only replications where SFT inherited a bias"; else fail "the reduction reads only replications where SFT inherited a bias" "$inherited"; fi
seed=$(py 'print(json.load(open("out/two/seed-4/pipeline.json"))["seed"])')
sim=$(python3 -c "import json; print(json.load(open('out/two/seed-4/data/simulation.json'))['focal_share'])")
if [ "$seed" = "4" ] && [ "$sim" = "0.5" ]; then pass "a replication runs with its seed and its condition's simulation"; else fail "a replication runs with its seed and its condition's simulation" "$seed $sim"; fi
rows=$(python3 -c "import csv; r=list(csv.DictReader(open('out/study.csv'))); print(len({(x['condition'],x['model']) for x in r}), sum(1 for x in r if x['measure'].startswith('target_')))")
if [ "$rows" = "9 30" ]; then pass "study.csv: rows for 9 condition x scorer pairs, 30 target rows"; else fail "study.csv: rows for 9 condition x scorer pairs, 30 target rows" "$rows"; fi
# PPO keeps the best evaluation within its KL budget (in one/seed-4 an earlier step than
# the last): the study's final KL is that model's.
kl=$(py '
r=[x for x in d["replications"] if x["condition"]=="one" and x["seed"]==4][0]
t=json.load(open("out/one/seed-4/reports/compare/compare.json"))["training_log"]
print(abs(r["models"]["PPO"]["kl"] - t["kept"]["eval_kl"]) < 1e-12, t["kept"]["step"] < t["steps"][-1])')
if [ "$kl" = "True True" ]; then pass "the final KL is the kept checkpoint's"; else fail "the final KL is the kept checkpoint's" "$kl"; fi
grep -q "<svg" out/index.html && pass "the page has the forest plot" || fail "the page has the forest plot"

# A second run finds every finished replication up to date: no log is rewritten.
before=$(stat -c %Y out/one/seed-3/run.log out/two/seed-4/run.log | tr '\n' ' ')
sleep 1
run_cmd study study.json
expect_exit 1 "the re-run (the broken condition fails again)"
expect_out_contains "6 replications (3 conditions x 2 seeds), 4 up to date" "the re-run finds 4 replications up to date"
after=$(stat -c %Y out/one/seed-3/run.log out/two/seed-4/run.log | tr '\n' ' ')
if [ "$before" = "$after" ]; then pass "the re-run runs no finished replication again"; else fail "the re-run runs no finished replication again" "$before / $after"; fi
counts=$(py 'c=d["counts"]; print(c["ran"], c["up_to_date"], c["failed"])')
if [ "$counts" = "0 4 2" ]; then pass "study.json of the re-run: 4 up to date"; else fail "study.json of the re-run: 4 up to date" "$counts"; fi

# Bad study files: exit 2 with file:line:col.
printf '{\n  "pipeline": "pipeline.json",\n  "seeds": [1],\n  "conditions": [{"name": "a", "simulate": {"persons": 100, "seed": 2}}],\n  "out": "out2"\n}\n' >bad.json
run_cmd study bad.json
expect_exit 2 "a simulate setting the study sets itself"
expect_err_contains "bad.json:4:" "the error names the file and line"
expect_err_contains "unknown key 'seed'" "the error names the key"
printf '{"pipeline": "pipeline.json", "seeds": [1], "conditions": [{"name": "a", "stages": {"sft": {"stepz": 3}}}], "out": "out3"}\n' >bad2.json
run_cmd study bad2.json
expect_exit 2 "a stage setting no command has"
expect_err_contains "condition a, seed 1:" "the error names the condition and seed"
expect_err_contains "did you mean" "the error suggests the setting"
mkdir -p other && echo x >other/mine.txt
printf '{"pipeline": "pipeline.json", "seeds": [1], "conditions": [{"name": "a"}], "out": "other"}\n' >bad3.json
run_cmd study bad3.json
expect_exit 2 "an out folder of other files"
expect_err_contains "did not write" "the error says why"
