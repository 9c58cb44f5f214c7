#!/usr/bin/env bash
# scripts/study.sh --quick as a pipeline check: data, risk caches, every arm trained, open- and
# closed-loop evaluation, the report. Asserts that everything ran and that the report is complete
# (every arm and reference in every table, every metric present), never what the numbers say.
# Usage: test_study_quick.sh BIN_DIR SOURCE_DIR
set -euo pipefail
bin=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

start=$(date +%s)
bash "$source_dir/scripts/study.sh" --quick --bin "$bin" --out "$work/study" \
  || fail "study.sh --quick failed (logs in the study folder)"
echo "study.sh --quick took $(( $(date +%s) - start )) s"

for file in summary.json results.md timing.tsv plots/id_collision.svg plots/ood_collision.svg \
            plots/driving_score.svg; do
  [ -s "$work/study/$file" ] || fail "no $file"
done
python3 - "$work/study" <<'PY'
import json, sys
study = sys.argv[1]
s = json.load(open(f"{study}/summary.json"))
arms = ["base", "rsd", "rsd_attention", "control"]
problems = []
assert s["arms"] == arms, s["arms"]
for data_set in ("id", "ood"):
    table = s["open_loop"][data_set]
    for row in arms + ["ref:constant_velocity", "ref:ego_linear"]:
        if row not in table:
            problems.append(f"open loop {data_set}: no row {row}")
            continue
        for key in ("all/l2_avg/3s", "all/l2/3s", "all/obj_box_col/3s", "high_risk/l2_avg/3s"):
            if key not in table[row]:
                problems.append(f"open loop {data_set} {row}: no {key}")
        # L2 over every frame is defined whenever a frame was evaluated.
        if table[row].get("all/l2/3s", {}).get("mean") is None:
            problems.append(f"open loop {data_set} {row}: L2 undefined")
    for arm in ("rsd", "rsd_attention", "control"):
        if table.get(arm, {}).get("risk/auroc", {}).get("per_seed") in (None, []):
            problems.append(f"open loop {data_set} {arm}: no risk AUROC")
for row in arms + ["ref:expert", "ref:constant_velocity", "ref:straight_line"]:
    entry = s["closed_loop"].get(row)
    if entry is None:
        problems.append(f"closed loop: no row {row}")
        continue
    for key in ("driving_score", "success_rate", "route_completion", "collisions_per_km"):
        if entry.get(key, {}).get("mean") is None:
            problems.append(f"closed loop {row}: {key} undefined")
    if entry["routes"] != 2:
        problems.append(f"closed loop {row}: {entry['routes']} routes, expected 2")
md = open(f"{study}/results.md").read()
for heading in ("## Question", "## Setup", "## Open loop, in-distribution",
                "## Open loop, out-of-distribution", "## Closed loop", "## Answer", "## Cost"):
    if heading not in md:
        problems.append(f"results.md: no '{heading}'")
for arm in arms:
    if md.count(f"| `{arm}` |") < 3:  # the two open-loop tables and the closed-loop one at least
        problems.append(f"results.md: arm {arm} missing from a table")
if problems:
    print("\n".join("FAIL: " + p for p in problems))
    sys.exit(1)
print("study report complete")
PY
