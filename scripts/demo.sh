#!/usr/bin/env bash
# The README's main command: the whole job end to end on this machine, no VLM and no real data
# needed. Installs, builds, writes synthetic clips in the real Bench2Drive format, builds the risk
# cache with the rule teacher, trains configs/synth_tiny.yaml with the RiskHead, evaluates it
# (open loop), drives it in closed loop beside the expert and the straight-line agent, and writes
# the reports. Everything lands under out/demo/.
# Usage: scripts/demo.sh [BUILD_DIR]   (default: build)
#   DEMO_CLIPS, DEMO_FRAMES, DEMO_STEPS  size of the synthetic set and of the training run
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-"$root/build"}
out="$root/out/demo"
clips=${DEMO_CLIPS:-10}
frames=${DEMO_FRAMES:-60}
steps=${DEMO_STEPS:-600}
start=$(date +%s)
stamp() { echo "== [$(( $(date +%s) - start )) s] $*"; }

stamp "install and build"
bash "$root/scripts/setup.sh"
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" --parallel "$(nproc)" --target rsd_data rsd_cache_risk rsd_train rsd_eval rsd_drive
bin="$build/bin"
echo "librsd $("$bin/rsd_train" --version)"

data="$out/data/synth"
risk="$out/data/synth_risk"
run_name=synth_tiny
common=(--config "$root/configs/synth_tiny.yaml"
        --set "data.root=$data" --set "data.split_file=$data/train_val_split.json"
        --set "data.risk_cache=$risk" --set "teacher.output=$risk")

stamp "synthetic Bench2Drive clips: $clips clips x $frames frames -> $data"
rm -rf "$out"
mkdir -p "$out"
"$bin/rsd_data" synth --out "$data" --clips "$clips" --frames "$frames" --seed 1 \
  --width 704 --height 396
"$bin/rsd_data" inspect --root "$data" --fail-on-problems | tail -n 20

stamp "risk cache (rule teacher) -> $risk"
"$bin/rsd_cache_risk" "${common[@]}"

stamp "training $run_name for $steps steps (RiskHead on)"
"$bin/rsd_train" "${common[@]}" --set "run.root=$out/runs" --set "run.name=$run_name" \
  --set "train.steps=$steps"
run_dir="$out/runs/$run_name"

stamp "evaluation on the val split"
checkpoint="$run_dir/checkpoints/$(cat "$run_dir/checkpoints/last")"
"$bin/rsd_eval" "${common[@]}" --checkpoint "$checkpoint" --split val \
  --out "$run_dir/eval"

stamp "closed loop: the model, the expert and the straight-line agent on the held-out routes"
drive="$run_dir/drive"
"$bin/rsd_drive" "${common[@]}" --checkpoint "$checkpoint" --out "$drive/model" --jobs "$(nproc)"
"$bin/rsd_drive" --agent expert --out "$drive/expert" --jobs "$(nproc)"
"$bin/rsd_drive" --agent straight_line --out "$drive/straight_line" --jobs "$(nproc)"
python3 - "$drive" <<'PY'
import json, sys
print(f"{'agent':<15} {'Driving Score':>13} {'Success Rate':>12} {'Route Compl.':>12}")
for agent in ("expert", "model", "straight_line"):
    m = json.load(open(f"{sys.argv[1]}/{agent}/metrics.json"))
    print(f"{agent:<15} {m['driving_score']:>13.2f} {m['success_rate']:>11.1f}% {m['route_completion']:>11.1f}%")
PY

stamp "done"
echo "demo: run directory $run_dir (config.yaml, log.txt, metrics.jsonl, checkpoints/)"
echo "demo: evaluation report $run_dir/eval/report.md"
echo "demo: closed-loop reports $run_dir/drive/{model,expert,straight_line}/report.md"
