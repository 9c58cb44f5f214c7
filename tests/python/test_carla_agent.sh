#!/usr/bin/env bash
# The CARLA leaderboard agent against rsd_drive (docs/carla-agent.md): a tiny run's checkpoint
# drives one short synthetic route with a left turn (so that steering is compared too) in rsd_drive
# with every tick recorded (full-size images, the path an agent under CARLA takes), then carla_agent_replay.py feeds each tick through
# tools/carla/rsd_agent.py's run_step in CARLA's sensor layout (stand-ins for the carla and
# leaderboard modules) and checks the controls and waypoints are rsd_drive's.
# Usage: test_carla_agent.sh BIN_DIR PYTHON MODULE_DIR SOURCE_DIR. Exit 77 (skipped) when PYTHON
# lacks numpy, OpenCV or PyYAML (scripts/setup.sh installs Debian's).
set -euo pipefail
bin=$1
python=$2
module_dir=$3
source_dir=$4
"$python" -c "import numpy, cv2, yaml" 2>/dev/null \
  || { echo "skipped: $python lacks numpy, cv2 or yaml (python3-numpy, python3-opencv, python3-yaml)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
source "$source_dir/tests/cli/tiny_run.sh"

echo "== a tiny run's checkpoint"
checkpoint=$(tiny_checkpoint "$bin" "$work") || fail "the tiny run failed"

echo "== rsd_drive records one route"
"$bin/rsd_drive" --config "$work/tiny.yaml" --checkpoint "$checkpoint" --out "$work/drive" --routes 1 \
  --route-frames 30 --scenarios SignalizedJunctionLeftTurn --render 320x180 --render-full --record-ticks --no-strips > "$work/drive.log" 2>&1 \
  || { tail -20 "$work/drive.log"; fail "rsd_drive failed"; }
ticks=$(ls -d "$work"/drive/ticks/*/ | head -1)
[ -n "$ticks" ] || fail "no recorded ticks under $work/drive/ticks"

echo "== the agent replays it"
cat > "$work/agent.yaml" <<YAML
config: tiny.yaml
checkpoint: $checkpoint
device: cpu
threads: 1
YAML
PYTHONPATH="$module_dir:$source_dir/tools/carla${PYTHONPATH:+:$PYTHONPATH}" \
  "$python" "$source_dir/tests/python/carla_agent_replay.py" "$ticks" "$work/agent.yaml" \
  "$source_dir/tests/python/carla_stand_ins"
