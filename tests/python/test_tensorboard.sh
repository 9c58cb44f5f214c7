#!/usr/bin/env bash
# Training's TensorBoard event files, read back by PyPI's tensorboard: a tiny run on synthetic
# clips with their rule-teacher risk cache, interrupted and resumed (two events files); then
# read_tensorboard.py compares the events with metrics.jsonl and the resolved config and finds
# the validation pictures.
# Usage: test_tensorboard.sh BIN_DIR PYTHON
set -euo pipefail
bin=$1
python=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/tiny.yaml" <<YAML
run: {root: $work/runs, name: tiny, progress: false, num_threads: 1}
data:
  root: $work/clips
  split_file: $work/clips/train_val_split.json
  risk_cache: $work/risk
  image: {height: 64, width: 176}
  grid: {x: [-16.0, 16.0, 1.0], y: [-16.0, 16.0, 1.0], z: [-5.0, 3.0, 8.0]}
  loader: {batch_size: 2, workers: 1}
teacher: {output: $work/risk}
model:
  image_encoder: {depth: 18, width: 8, out_channels: 16}
  lift: {depth_bins: [1.0, 33.0, 2.0], context_channels: 8}
  bev_encoder: {channels: 16, blocks: [1, 1], out_channels: 16}
  detection_head: {hidden: 16}
  planning_head: {hidden: 32, heads: 4}
  risk_head: {hidden: 16}
train: {steps: 4, warmup_steps: 1, val_every: 2, val_batches: 1, checkpoint_every: 2, log_every: 1}
YAML

"$bin/rsd_data" synth --out "$work/clips" --clips 3 --frames 16 --seed 5 --width 320 --height 180 \
  --no-progress > "$work/synth.log"
"$bin/rsd_cache_risk" --config "$work/tiny.yaml" --no-progress > "$work/cache.log" 2>&1 \
  || { cat "$work/cache.log"; exit 1; }
"$bin/rsd_train" --config "$work/tiny.yaml" --set train.stop_after=2 > "$work/train1.log" 2>&1 \
  || { cat "$work/train1.log"; exit 1; }
"$bin/rsd_train" --config "$work/tiny.yaml" --resume > "$work/train2.log" 2>&1 \
  || { cat "$work/train2.log"; exit 1; }
"$python" "$here/read_tensorboard.py" "$work/runs/tiny" --expect-files 2 --expect-pictures
