# Sourced by the CLI and Python tests that train a tiny model on synthetic clips: the model and
# data sizes they share, and the synthetic clips with their rule-teacher risk cache.

# tiny_config WORK [--no-split]: the tiny model's YAML (data in WORK/clips, risk cache in
# WORK/risk) without the run and train sections, which each test writes itself. --no-split: no
# split file and no risk cache (every clip trains, no risk targets).
tiny_config() {
  local work=$1 split=$1/clips/train_val_split.json cache=$1/risk
  if [ "${2:-}" = --no-split ]; then split=null cache=null; fi
  cat <<YAML
data:
  root: $work/clips
  split_file: $split
  risk_cache: $cache
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
YAML
}

# tiny_clips BIN WORK CLIPS FRAMES SEED: synthetic clips of 320x180 pictures in WORK/clips (log in
# WORK/synth.log).
tiny_clips() {
  "$1/rsd_data" synth --out "$2/clips" --clips "$3" --frames "$4" --seed "$5" --width 320 \
    --height 180 --no-progress > "$2/synth.log"
}

# tiny_checkpoint BIN WORK: WORK/tiny.yaml (no split, no risk cache, one thread) and a 2-step run
# on one 24-frame clip; prints the checkpoint's path (logs in WORK/train.log).
tiny_checkpoint() {
  {
    tiny_config "$2" --no-split
    echo "run: {root: $2/runs, progress: false, num_threads: 1}"
    echo "train: {steps: 2, warmup_steps: 1, checkpoint_every: 2, log_every: 1}"
  } > "$2/tiny.yaml"
  tiny_clips "$1" "$2" 1 24 5
  "$1/rsd_train" --config "$2/tiny.yaml" --set run.name=tiny > "$2/train.log" 2>&1 \
    || { tail -20 "$2/train.log" >&2; return 1; }
  [ -f "$2/runs/tiny/checkpoints/step_2.pt" ] || { echo "no $2/runs/tiny/checkpoints/step_2.pt" >&2; return 1; }
  echo "$2/runs/tiny/checkpoints/step_2.pt"
}
