#!/usr/bin/env bash
# The controlled RiskHead study (docs/results.md, issue 17): does the rule teacher's risk
# information help the planner, beyond the extra head and loss it comes with?
#
#   scripts/study.sh [--quick] [--out DIR] [--bin DIR] [--seeds "1 2 3"] [--steps N]
#
# Generates the synthetic data (training clips; an in-distribution held-out set from unseen seeds;
# an out-of-distribution set of scenario types held out from training), builds the rule teacher's
# risk caches, trains every arm with every seed, evaluates them open loop (rsd_eval, ID and OOD)
# and closed loop (rsd_drive's held-out routes, 8 of the default 20 to fit the time, plus the
# expert, constant-velocity and straight-line agents once), then writes DIR/summary.json and DIR/results.md with
# tools/study/report.py; a full run also copies them to docs/results.md and docs/results/.
#
# --quick: a miniature (1 seed, tiny data and images, a few steps, 2 short routes) that checks the
# pipeline in under 3 minutes; ctest runs it (study.quick). Its numbers mean nothing.
# The binaries are not built here: build rsd_data rsd_cache_risk rsd_train rsd_eval rsd_drive
# first (cmake --build build --target ...), or pass --bin.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$root/build/bin
out=$root/out/study
quick=0
seeds=""
steps=""
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --out) out=$2; shift ;;
    --bin) bin=$2; shift ;;
    --seeds) seeds=$2; shift ;;
    --steps) steps=$2; shift ;;
    -h|--help) sed -n 2,19p "$0"; exit 0 ;;
    *) echo "study.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
for tool in rsd_data rsd_cache_risk rsd_train rsd_eval rsd_drive; do
  [ -x "$bin/$tool" ] || { echo "study.sh: no $bin/$tool (build it, or pass --bin)" >&2; exit 2; }
done

# Scenario types. Held out from training (OOD): the three where a planner that ignores the
# other road users collides: a walker or cyclist bursting out from behind a parked car
# (crossing), a parked car pulling into the lane (cut-in), a leader braking hard (emergency
# braking). Training keeps PedestrianCrossing, so that stopping for walkers is seen at all.
train_scenarios=(PedestrianCrossing SignalizedJunctionLeftTurn VanillaSignalizedTurnEncounterRedLight
                 ParkedObstacle YieldToEmergencyVehicle)
ood_scenarios=(DynamicObjectCrossing ParkingCutIn HardBreakRoute)
arms=(base rsd rsd_attention control)

if [ "$quick" = 1 ]; then
  : "${seeds:=1}" "${steps:=6}"
  train_clips=5 id_clips=1 ood_clips=3 frames=36 width=320 height=180
  image_h=64 image_w=176 routes=2 route_frames=30 bootstrap=200
else
  # Sized for 90 minutes on 2 cores from measurements on the development machine (docs/results.md,
  # "Cost"): training 0.29 s/step per process, two at once (12 runs x 600 steps: ~17 min),
  # evaluation ~65 ms/frame (ID + OOD: 1020 frames x 12 runs, two at once: ~7-9 min), closed
  # loop 65-137 ms per tick and process with a route of 150 frames taking 250-460 ticks (the
  # route timeout): 12 x 8 routes = 20-50 min; data, caches, references: ~5 min. rsd_drive's
  # default 20 routes would add 30-75 minutes: the study drives 8, one per scenario type (the
  # default seed and timeline).
  : "${seeds:=1 2 3}" "${steps:=600}"
  train_clips=30 id_clips=8 ood_clips=9 frames=60 width=704 height=396
  image_h=128 image_w=352 routes=8 route_frames=150 bootstrap=2000
fi

mkdir -p "$out"
timing=$out/timing.tsv
: > "$timing"
study_start=$(date +%s)
stage_start=$study_start
# stage NAME: the time since the previous stage, appended to timing.tsv.
stage() {
  local now
  now=$(date +%s)
  printf '%s\t%d\n' "$1" $((now - stage_start)) >> "$timing"
  echo "study: $1 done in $((now - stage_start)) s (total $((now - study_start)) s)"
  stage_start=$now
}

data=$out/data
scenario_flags() { local s; for s in "$@"; do printf -- '--scenario\n%s\n' "$s"; done; }
synth() {  # synth DIR SEED CLIPS SCENARIO...
  local dir=$1 seed=$2 clips=$3
  shift 3
  mapfile -t flags < <(scenario_flags "$@")
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  "$bin/rsd_data" synth --out "$dir" --clips "$clips" --frames "$frames" --seed "$seed" \
    --width "$width" --height "$height" --no-top-down --no-progress "${flags[@]}" > "$dir.log"
}
# Seeds 1000+ are never training seeds: the ID set is the training scenarios in unseen worlds.
synth "$data/train" 7 "$train_clips" "${train_scenarios[@]}"
synth "$data/id" 1001 "$id_clips" "${train_scenarios[@]}"
synth "$data/ood" 1002 "$ood_clips" "${ood_scenarios[@]}"
stage data

# The configs: every arm is synth_tiny with the same data, steps and seeds; they differ only in
# what the arm names.
configs=$out/configs
mkdir -p "$configs"
cat > "$configs/common.yaml" <<YAML
_base_: [$root/configs/synth_tiny.yaml]
data:
  root: $data/train
  split_file: $data/train/train_val_split.json
  risk_cache: $data/train_risk
  image: {height: $image_h, width: $image_w}
teacher: {output: $data/train_risk}
run: {root: $out/runs, progress: false, num_threads: 1}
train: {steps: $steps, warmup_steps: $(( steps < 40 ? 1 : 20 )), val_every: $steps, val_batches: 4, checkpoint_every: $steps, log_every: 10}
eval: {pictures: 0, frame_records: true}
YAML
printf '_base_: [common.yaml]\nmodel: {risk_head: {enabled: false}}\n' > "$configs/base.yaml"
printf '_base_: [common.yaml]\n' > "$configs/rsd.yaml"
printf '_base_: [common.yaml]\nmodel: {risk_head: {risk_attention: true}}\n' > "$configs/rsd_attention.yaml"
printf '_base_: [common.yaml]\ndata: {risk_target_control: shuffle_frames}\n' > "$configs/control.yaml"

# set_args SET: the overrides that point a config at one data set (train, id, ood).
set_args() {
  local split_file=null
  [ "$1" = train ] && split_file=$data/train/train_val_split.json
  echo "--set data.root=$data/$1 --set data.split_file=$split_file"
  echo "--set data.risk_cache=$data/$1_risk --set teacher.output=$data/$1_risk"
}
for set in train id ood; do
  # shellcheck disable=SC2046
  "$bin/rsd_cache_risk" --config "$configs/common.yaml" $(set_args $set) --no-progress \
    > "$data/${set}_risk.log" 2>&1
done
stage risk_caches

# Two processes of one intra-op thread each: 1.8x the throughput of one process with two threads
# (measured: 0.29 s/step each vs 0.26 s/step alone). slot CMD... starts CMD in the background once
# fewer than two are running; drain waits for all and fails the study if one failed (its log says
# why).
running=0
failed=0
slot() {
  if [ "$running" -ge 2 ]; then
    wait -n || failed=$((failed + 1))
    running=$((running - 1))
  fi
  "$@" &
  running=$((running + 1))
}
drain() {
  while [ "$running" -gt 0 ]; do
    wait -n || failed=$((failed + 1))
    running=$((running - 1))
  done
  if [ "$failed" != 0 ]; then
    echo "study.sh: $failed process(es) failed, see the *.log files in $out" >&2
    exit 1
  fi
}

train() {  # train ARM SEED
  "$bin/rsd_train" --config "$configs/$1.yaml" --set "run.name=$1_s$2" --set "run.seed=$2" \
    > "$out/train_$1_s$2.log" 2>&1
}
for seed in $seeds; do
  for arm in "${arms[@]}"; do slot train "$arm" "$seed"; done
done
drain
stage train

checkpoint_of() { echo "$out/runs/$1/checkpoints/$(cat "$out/runs/$1/checkpoints/last")"; }
first_seed=${seeds%% *}
evaluate() {  # evaluate ARM SEED SET
  local run=$1_s$2 references=()
  # The ego-status reference planners once per set: they do not depend on the arm.
  if [ "$1" = base ] && [ "$2" = "$first_seed" ]; then
    references=(--set eval.reference_planners=true --set "eval.reference_fit_root=$data/train")
  fi
  # shellcheck disable=SC2046
  "$bin/rsd_eval" --config "$configs/common.yaml" $(set_args "$3") "${references[@]}" \
    --checkpoint "$(checkpoint_of "$run")" --split all --out "$out/eval/$3/$run" \
    > "$out/eval_$3_$run.log" 2>&1
}
for seed in $seeds; do
  for arm in "${arms[@]}"; do
    for set in id ood; do slot evaluate "$arm" "$seed" "$set"; done
  done
done
drain
stage eval

drive_flags=(--routes "$routes" --route-frames "$route_frames" --jobs 2 --no-strips
             --render "${width}x$height")
for seed in $seeds; do
  for arm in "${arms[@]}"; do
    run=${arm}_s$seed
    "$bin/rsd_drive" --config "$configs/common.yaml" --checkpoint "$(checkpoint_of "$run")" \
      --out "$out/drive/$run" "${drive_flags[@]}" > "$out/drive_$run.log" 2>&1
    stage "drive_$run"
  done
done
for agent in expert constant_velocity straight_line; do
  "$bin/rsd_drive" --agent "$agent" --out "$out/drive/$agent" "${drive_flags[@]}" \
    > "$out/drive_$agent.log" 2>&1
done
stage drive_references

python=python3
[ -x "$root/.venv/bin/python" ] && python=$root/.venv/bin/python
"$python" "$root/tools/study/report.py" --study "$out" --arms "${arms[@]}" --seeds $seeds \
  --bootstrap "$bootstrap" --train-scenarios "${train_scenarios[@]}" \
  --ood-scenarios "${ood_scenarios[@]}" --steps "$steps" $([ "$quick" = 1 ] && echo --quick)
stage report
if [ "$quick" = 0 ]; then
  # The full study is what docs/results.md reports: copy it there with its plots.
  mkdir -p "$root/docs/results"
  cp "$out"/plots/*.svg "$root/docs/results/"
  sed 's|](plots/|](results/|g' "$out/results.md" > "$root/docs/results.md"
  cp "$out/summary.json" "$root/docs/results/summary.json"
fi
echo "study: $out/results.md, $out/summary.json"
