#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz with clang (ASan + UBSan) in build-fuzz, writes seed
# corpora from real-format files, and runs each harness for SECONDS, one after another.
# Usage: scripts/fuzz.sh [SECONDS] [HARNESS...]   (default 600 s each; all harnesses)
#   RSD_FUZZ_BUILD   build folder (default build-fuzz)
#   RSD_FUZZ_DATA    build folder whose bin/rsd_data writes synthetic Bench2Drive clips for the
#                    annotation and split-file seeds (default build; skipped when missing)
#   RSD_FUZZ_LOCK    when set, a file that every compile and link step holds (flock)
#   RSD_FUZZ_SKIP_BUILD=1  run the harnesses as built (no build step)
# Findings (crash-*, timeout-*, oom-*, leak-*) land in <build>/findings/<harness>/; the corpus grows
# in <build>/corpus/<harness>/ and is reused by the next run. Exit status 1 when anything was found.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-600}
shift || true
build=${RSD_FUZZ_BUILD:-"$root/build-fuzz"}
data_build=${RSD_FUZZ_DATA:-"$root/build"}
all_harnesses=(annotation config answer_parser risk_cache checkpoint split_file)
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=("${all_harnesses[@]}")

locked() {
  if [ -n "${RSD_FUZZ_LOCK:-}" ]; then flock "$RSD_FUZZ_LOCK" "$@"; else "$@"; fi
}

# --- build ---------------------------------------------------------------------------------------
if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  generator=()
  command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
  locked cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DRSD_FUZZ=ON -DRSD_WITH_CUDA=OFF \
    -DRSD_USE_PCH=OFF
fi
targets=()
for h in "${harnesses[@]}"; do targets+=("fuzz_$h"); done
if [ -z "${RSD_FUZZ_SKIP_BUILD:-}" ]; then
  locked cmake --build "$build" --parallel "${RSD_FUZZ_JOBS:-2}" --target "${targets[@]}"
fi
bin="$build/bin"

# --- seeds ---------------------------------------------------------------------------------------
seeds="$build/seeds"
make_seeds() {
  rm -rf "$seeds"
  mkdir -p "$seeds"/{annotation,config,answer_parser,risk_cache,checkpoint,split_file}
  local synth="$build/synth"
  if [ -x "$data_build/bin/rsd_data" ]; then
    rm -rf "$synth"
    "$data_build/bin/rsd_data" synth --out "$synth" --clips 2 --frames 3 --width 64 --height 48 \
      --quirks --no-top-down --no-progress --threads 1 >/dev/null
    local n=0
    for f in "$synth"/*/anno/*.json.gz; do
      n=$((n + 1))
      gzip -dc "$f" >"$seeds/annotation/synth_$n.json"   # the harness gzips plain inputs
    done
    cp "$(ls "$synth"/*/anno/*.json.gz | head -1)" "$seeds/annotation/synth_gzip.json.gz"
    # A small one (one box per class, one camera, NaN and Infinity tokens): faster to mutate.
    if command -v python3 >/dev/null 2>&1; then
      python3 - "$seeds/annotation/synth_1.json" "$seeds/annotation/small.json" <<'PY'
import json, re, sys
frame = json.loads(re.sub(r"\bNaN\b", "null", open(sys.argv[1]).read()))
boxes, classes = [frame["bounding_boxes"][0]], set()
for box in frame["bounding_boxes"][1:]:
    if box.get("class") not in classes:
        classes.add(box.get("class"))
        boxes.append(box)
frame["bounding_boxes"] = boxes
frame["sensors"] = {"CAM_FRONT": frame["sensors"]["CAM_FRONT"]}
frame["theta"], frame["speed"] = 1e308 * 10, float("nan")
open(sys.argv[2], "w").write(json.dumps(frame, indent=1))
PY
    fi
    cp "$synth/train_val_split.json" "$seeds/split_file/synth_split.json"
    ls "$synth" | grep -v '\.json$' >"$seeds/split_file/clip_list.txt" || true
  fi
  printf '{"val": ["v1/PedestrianCrossing_Town12_Route1_Weather3.tar.gz", "ParkingCutIn_Town13_Route2_Weather1"]}\n' \
    >"$seeds/split_file/official_style.json"
  printf '["HardBreakRoute_Town01_Route30_Weather3", "v1/ParkedObstacle_Town05_Route9_Weather0"]\n' \
    >"$seeds/split_file/list.json"

  # Configs: main %% base %% overrides (tests/fuzz/fuzz_config.cpp).
  local c=0
  for pair in "synth_tiny_no_risk.yaml synth_tiny.yaml" "b2d_base_no_risk.yaml b2d_base.yaml"; do
    set -- $pair
    c=$((c + 1))
    {
      sed 's/^_base_:.*/_base_: [base.yaml]/' "$root/configs/$1"
      echo '%%'
      cat "$root/configs/$2"
      echo '%%'
      printf 'train.lr=2e-4\nmodel.risk_head.enabled=false\ndata.grid.x=[-10, 10, 0.5]\n'
    } >"$seeds/config/pair_$c.yaml"
  done
  # A _base_ cycle and YAML anchors.
  printf 'run:\n  name: &n demo\n  log_level: *n\n_base_: [base.yaml]\n%%%%\n_base_: [main.yaml]\ntrain:\n  lr: 1e-3\n%%%%\nrun.name=x\n' \
    >"$seeds/config/cycle_alias.yaml"
  for f in "$root"/configs/*.yaml "$root"/configs/base/*.yaml; do
    cp "$f" "$seeds/config/$(basename "$f")"
  done

  # VLM answers as servers write them.
  local a="$seeds/answer_parser"
  printf '[{"id": "42", "score": 0.8, "reason": "crossing"}, {"id": "7", "score": 0.1, "reason": "parked"}]' >"$a/ids.json"
  printf '{"objects": [{"box": [10, 20, 110, 220], "camera": "CAM_FRONT", "score": 0.9, "reason": "cut-in"}]}' >"$a/boxes.json"
  printf 'Here is my assessment:\n```json\n{"objects": [{"id": 3, "score": 1, "reason": "brakes"}]}\n```\nDone.' >"$a/fenced.txt"
  printf '{"choices": [{"message": {"content": "[{\\"id\\": \\"1\\", \\"score\\": 0.5}]"}}]}' >"$a/nested.json"
  printf '[]' >"$a/empty.json"

  # Risk cache and checkpoints written by librsd's own writers (the harnesses hold them).
  RSD_FUZZ_WRITE_SEED="$seeds/risk_cache" "$bin/fuzz_risk_cache" >/dev/null 2>&1 || true
  local ckpt="$build/seed_checkpoints"
  rm -rf "$ckpt"
  RSD_FUZZ_WRITE_SEED="$ckpt" "$bin/fuzz_checkpoint" >/dev/null 2>&1 || true
  cp "$ckpt"/step_*.pt "$seeds/checkpoint/" 2>/dev/null || true
  cp "$root/tests/unit/data/torch_save_dict.pt" "$seeds/checkpoint/"
}
make_seeds

# --- run -----------------------------------------------------------------------------------------
export ASAN_OPTIONS=${ASAN_OPTIONS:-"detect_leaks=1:allocator_may_return_null=1"}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-"print_stacktrace=1:halt_on_error=1"}
summary=()
found=0
for h in "${harnesses[@]}"; do
  corpus="$build/corpus/$h"
  findings="$build/findings/$h"
  mkdir -p "$corpus" "$findings"
  log="$build/logs/$h.log"
  mkdir -p "$(dirname "$log")"
  echo "== fuzz_$h: ${seconds} s (log: $log)"
  start=$(date +%s)
  # libtorch 1.13 leaks its zip reader's state for every archive it rejects (docs/testing.md).
  asan=$ASAN_OPTIONS
  [ "$h" = checkpoint ] && asan="$asan:detect_leaks=0"
  ASAN_OPTIONS=$asan "$bin/fuzz_$h" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$findings/" "$corpus" "$seeds/$h" >"$log" 2>&1 || true
  elapsed=$(( $(date +%s) - start ))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  corp=$(ls "$corpus" | wc -l)
  n=$(find "$findings" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
  [ "$n" -gt 0 ] && found=1
  summary+=("$(printf '%-14s %6s s  execs %-10s cov %-6s ft %-7s corpus %-6s findings %s' \
    "$h" "$elapsed" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$corp" "$n")")
done
echo
echo "== summary (findings under $build/findings/<harness>/)"
printf '%s\n' "${summary[@]}"
exit $found
