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
source "$here/../cli/tiny_run.sh"

{
  tiny_config "$work"
  echo "run: {root: $work/runs, name: tiny, progress: false, num_threads: 1}"
  echo "train: {steps: 4, warmup_steps: 1, val_every: 2, val_batches: 1, checkpoint_every: 2, log_every: 1}"
} > "$work/tiny.yaml"

tiny_clips "$bin" "$work" 3 16 5
"$bin/rsd_cache_risk" --config "$work/tiny.yaml" --no-progress > "$work/cache.log" 2>&1 \
  || { cat "$work/cache.log"; exit 1; }
"$bin/rsd_train" --config "$work/tiny.yaml" --set train.stop_after=2 > "$work/train1.log" 2>&1 \
  || { cat "$work/train1.log"; exit 1; }
"$bin/rsd_train" --config "$work/tiny.yaml" --resume > "$work/train2.log" 2>&1 \
  || { cat "$work/train2.log"; exit 1; }
"$python" "$here/read_tensorboard.py" "$work/runs/tiny" --expect-files 2 --expect-pictures
