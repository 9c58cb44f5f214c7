#!/usr/bin/env bash
# The whole job through the apps, as scripts/demo.sh runs it but tiny: synthetic clips ->
# inspect -> rule-teacher risk cache -> train (interrupted, then resumed) -> two processes ->
# evaluation -> comparison. Checks each stage's outputs.
# Usage: test_pipeline.sh BIN_DIR
set -euo pipefail
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/tiny_run.sh"

{
  tiny_config "$work"
  echo "run: {root: $work/runs, progress: false, num_threads: 1}"
  echo "train: {steps: 4, warmup_steps: 1, val_every: 4, val_batches: 2, checkpoint_every: 2, log_every: 1}"
  echo "eval: {pictures: 2}"
} > "$work/tiny.yaml"

echo "== synth"
tiny_clips "$bin" "$work" 3 24 3
[ -f "$work/clips/train_val_split.json" ] || fail "no split file"
"$bin/rsd_data" inspect --root "$work/clips" --json --fail-on-problems > "$work/inspect.json" \
  || fail "inspect found problems: $(head -c 2000 "$work/inspect.json")"

echo "== risk cache"
"$bin/rsd_cache_risk" --config "$work/tiny.yaml" --no-progress
[ "$(ls "$work/risk" | grep -c '\.rsdrisk$')" -eq 3 ] || fail "expected 3 clip caches in $work/risk: $(ls "$work/risk")"

echo "== train 2 steps, then resume to 4"
"$bin/rsd_train" --config "$work/tiny.yaml" --set run.name=tiny --set train.stop_after=2
[ -f "$work/runs/tiny/checkpoints/step_2.pt" ] || fail "no step_2.pt after the interrupted run"
"$bin/rsd_train" --config "$work/tiny.yaml" --set run.name=tiny --resume
[ -f "$work/runs/tiny/checkpoints/step_4.pt" ] || fail "no step_4.pt after resuming"
grep -q '"mode":"val"' "$work/runs/tiny/metrics.jsonl" || fail "no validation line in metrics.jsonl"
[ "$(grep -c '"mode":"train"' "$work/runs/tiny/metrics.jsonl")" -eq 4 ] || fail "expected 4 train lines"
[ -f "$work/runs/tiny/curves.png" ] || fail "no curves.png in the run directory"

echo "== two processes"
"$bin/rsd_train" --config "$work/tiny.yaml" --set run.name=ddp --set train.steps=2 --nproc 2
[ -f "$work/runs/ddp/checkpoints/step_2.pt" ] || fail "the 2-process run wrote no checkpoint"

echo "== evaluate"
"$bin/rsd_eval" --config "$work/tiny.yaml" --checkpoint "$work/runs/tiny/checkpoints/step_4.pt" \
  --split val --out "$work/eval"
[ -f "$work/eval/metrics.json" ] || fail "no metrics.json"
[ -f "$work/eval/report.md" ] || fail "no report.md"
ls "$work/eval" | grep -q '\.png$' || ls "$work/eval"/*/ | grep -q '\.png$' || fail "no pictures"
echo "== compare"
mkdir -p "$work/runs/tiny/eval" && cp -r "$work/eval" "$work/runs/tiny/eval/val"
"$bin/rsd_eval" --compare "$work/eval" "$work/runs/tiny/eval/val" --out "$work/compare.md" \
  > /dev/null
[ -f "$work/compare.md" ] || fail "no comparison table"
[ -f "$work/compare_curves.png" ] || fail "rsd_eval --compare drew no training curves"
echo "pipeline passed"
