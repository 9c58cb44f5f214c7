#!/usr/bin/env bash
# Weights to and from Python with PyPI torch (docs/model.md, "Weights to and from Python"): a tiny
# run's checkpoint -> rsd_export -> torch.load(weights_only=True), checked against the manifest the
# C++ side wrote -> doubled and torch.save'd in Python -> model.init_weights (the strict import)
# -> exported again and compared in Python; a file lacking a name is refused, naming it.
# Usage: test_weights_python.sh BIN_DIR PYTHON SCRIPT. Exit 77 (skipped) without torch in PYTHON.
set -euo pipefail
bin=$1
python=$2
script=$3
"$python" -c "import torch" 2>/dev/null || { echo "skipped: no torch in $python"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cat > "$work/tiny.yaml" <<YAML
run: {root: $work/runs, progress: false, num_threads: 1}
data:
  root: $work/clips
  split_file: null
  image: {height: 64, width: 176}
  grid: {x: [-16.0, 16.0, 1.0], y: [-16.0, 16.0, 1.0], z: [-5.0, 3.0, 8.0]}
  loader: {batch_size: 2, workers: 1}
model:
  image_encoder: {depth: 18, width: 8, out_channels: 16}
  lift: {depth_bins: [1.0, 33.0, 2.0], context_channels: 8}
  bev_encoder: {channels: 16, blocks: [1, 1], out_channels: 16}
  detection_head: {hidden: 16}
  planning_head: {hidden: 32, heads: 4}
  risk_head: {hidden: 16}
train: {steps: 2, warmup_steps: 1, checkpoint_every: 2, log_every: 1}
YAML

echo "== a tiny run's checkpoint"
"$bin/rsd_data" synth --out "$work/clips" --clips 1 --frames 24 --seed 5 --width 320 --height 180 \
  --no-progress > "$work/synth.log"
"$bin/rsd_train" --config "$work/tiny.yaml" --set run.name=tiny > "$work/train.log" 2>&1 \
  || { tail -20 "$work/train.log"; fail "training failed"; }
checkpoint=$work/runs/tiny/checkpoints/step_2.pt
[ -f "$checkpoint" ] || fail "no $checkpoint"

echo "== export, then torch.load in Python"
"$bin/rsd_export" --checkpoint "$checkpoint" --out "$work/exported.pt" --manifest "$work/exported.json"
dropped=$("$python" "$script" check "$work/exported.pt" "$work/exported.json" "$work/doubled.pt" \
          "$work/missing.pt") || { echo "$dropped"; fail "Python's check of the export"; }

echo "== Python's doubled weights back into the C++ model (model.init_weights)"
"$bin/rsd_export" --config "$work/tiny.yaml" --set "model.init_weights=$work/doubled.pt" \
  --out "$work/reexported.pt"
"$python" "$script" doubled "$work/reexported.pt" "$work/exported.pt"

echo "== a file lacking $dropped is refused"
status=0
output=$("$bin/rsd_export" --config "$work/tiny.yaml" --set "model.init_weights=$work/missing.pt" \
         --out "$work/refused.pt" 2>&1) || status=$?
[ "$status" -eq 1 ] || fail "exit status $status, expected 1: $output"
grep -qF "missing 1: $dropped" <<<"$output" || fail "the refusal does not name $dropped: $output"
grep -qF "$work/missing.pt" <<<"$output" || fail "the refusal does not name the file: $output"
[ ! -e "$work/refused.pt" ] || fail "a refused import still wrote its export"
echo "weights round trip passed"
