#!/usr/bin/env bash
# Crash trials: does a run that is killed (SIGKILL, at any moment, also in the middle of a
# checkpoint write) and resumed with --resume end with exactly the weights of a run that was never
# interrupted? And does a full disk end the run with a clear error, leaving the previous checkpoint
# intact and resumable?
#
# Usage: scripts/crash_trials.sh [N]   (default 10 trials)
#   BUILD_DIR   build tree with the apps (default: build); its rsd_train, rsd_data, rsd_cache_risk
#               and rsd_compare_checkpoints are brought up to date first (under the shared build
#               lock /tmp/rsd-build.lock)
#   CRASH_SEED  seed of the kill schedule (default 1): trial i draws from bash's RANDOM seeded
#               with CRASH_SEED*1000+i, and prints every kill, so a trial's schedule reproduces
#   CRASH_STEPS steps of each run (default 16)
#   OUT         where the data, runs and logs go ($OUT/crash_trials); default a new temp folder
#
# Each trial trains configs/synth_tiny.yaml made tiny (2 synthetic clips of 12 frames, 64x176
# images, one intra-op thread, one loader worker, a checkpoint every step so kills often land in a
# save) and kills rsd_train 1-3 times, each kill either after a random delay or as soon as the
# temporary of a chosen step's checkpoint appears (inside the save). Then it resumes until the run
# ends and compares the final checkpoint's parameters and buffers bitwise with the uninterrupted
# reference run (rsd_compare_checkpoints), and checks metrics.jsonl logs every step once.
# Exit 0 only when every trial is identical and the disk-full case passed.
set -uo pipefail
trials=${1:-10}
seed=${CRASH_SEED:-1}
steps=${CRASH_STEPS:-16}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-"$root/build"}
if [ -n "${OUT:-}" ]; then
  work="$OUT/crash_trials"
  rm -rf "$work"
  mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/rsd-crash-trials.XXXXXX")
fi
start=$(date +%s)
stamp() { echo "== [$(( $(date +%s) - start )) s] $*"; }
die() { echo "crash_trials: $*" >&2; exit 1; }

apps=(rsd_train rsd_data rsd_cache_risk rsd_compare_checkpoints)
stamp "bringing ${apps[*]} up to date in $build"
# The build tree is shared: the apps and librsd are copied (under the build lock) to $work/bin and
# $work/lib and run from there (LD_LIBRARY_PATH overrides their RUNPATH), so that a relink during
# the trials cannot hand a trial a half-written library.
snapshot_apps() {
  if ! ninja -C "$build" -j2 "${apps[@]}" > "$work/build.log" 2>&1; then
    tail -n 20 "$work/build.log"
    echo "crash_trials: WARNING: the build failed (above); using the existing binaries"
  fi
  mkdir -p "$work/bin" "$work/lib"
  for app in "${apps[@]}"; do
    cp "$build/bin/$app" "$work/bin/" || die "no $build/bin/$app"
  done
  cp -d "$build"/lib/*.so* "$work/lib/"
}
export -f snapshot_apps die
export build work
flock /tmp/rsd-build.lock bash -c "apps=(${apps[*]}); snapshot_apps" || exit 1
bin="$work/bin"
export LD_LIBRARY_PATH="$work/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

clips="$work/clips"
risk="$work/risk"
runs="$work/runs"
common=(--config "$root/configs/synth_tiny.yaml"
        --set "data.root=$clips" --set "data.split_file=$clips/train_val_split.json"
        --set "data.risk_cache=$risk" --set "teacher.output=$risk"
        --set data.image.height=64 --set data.image.width=176
        --set run.num_threads=1 --set run.progress=false --set data.loader.workers=1)
training=(--set "run.root=$runs" --set "train.steps=$steps" --set train.warmup_steps=2
          --set train.checkpoint_every=1 --set train.val_every=0 --set train.log_every=1)

stamp "synthetic data (2 clips x 12 frames) and its rule-teacher risk cache in $work"
"$bin/rsd_data" synth --out "$clips" --clips 2 --frames 12 --seed 1 --width 320 --height 180 \
  --no-progress > "$work/data.log" 2>&1 || die "rsd_data synth failed: see $work/data.log"
"$bin/rsd_cache_risk" "${common[@]}" --no-progress >> "$work/data.log" 2>&1 \
  || die "rsd_cache_risk failed: see $work/data.log"

stamp "uninterrupted reference run ($steps steps)"
ref_start=$(date +%s.%N)
"$bin/rsd_train" "${common[@]}" "${training[@]}" --set run.name=reference \
  --set train.keep_checkpoints=$((steps + 1)) > "$work/reference.log" 2>&1 \
  || die "the reference run failed: see $work/reference.log"
ref_seconds=$(echo "$(date +%s.%N) - $ref_start" | bc)
reference="$runs/reference/checkpoints/step_$steps.pt"
[ -f "$reference" ] || die "the reference run wrote no $reference"
printf 'reference run: %.1f s\n' "$ref_seconds"

# Every train step appears exactly once in metrics.jsonl.
steps_logged_once() {
  local metrics=$1 lines unique
  lines=$(grep '"mode":"train"' "$metrics" | grep -o '"step":[0-9]*' | sort)
  unique=$(sort -u <<< "$lines" | grep -c .)
  [ "$(grep -c . <<< "$lines")" -eq "$steps" ] && [ "$unique" -eq "$steps" ]
}

# The name of the newest step checkpoint in folder $1 (empty when none).
newest_checkpoint() {
  ls "$1" 2> /dev/null | grep -o '^step_[0-9]*\.pt$' | sort -t_ -k2 -n | tail -n 1
}

# Waits until the temporary of step_<step>.pt's save appears (then SIGKILLs at once), the run
# passes that step, or the run exits. Prints "in-save", "late" or "exited".
kill_in_save() {
  local pid=$1 dir=$2 step=$3 f
  while kill -0 "$pid" 2> /dev/null; do
    for f in "$dir"/step_"$step".pt.tmp.*; do
      if [ -e "$f" ]; then kill -KILL "$pid" 2> /dev/null; echo in-save; return; fi
    done
    if [ -e "$dir/step_$step.pt" ]; then kill -KILL "$pid" 2> /dev/null; echo late; return; fi
    sleep 0.002
  done
  echo exited
}

identical=0
kills_total=0
kills_in_save=0
trial_seconds=()
for ((trial = 1; trial <= trials; ++trial)); do
  RANDOM=$((seed * 1000 + trial))
  name="trial_$trial"
  dir="$runs/$name/checkpoints"
  log="$work/$name.log"
  : > "$log"
  kills_planned=$((1 + RANDOM % 3))
  kills=0
  attempt=0
  verdict=""
  trial_start=$(date +%s.%N)
  schedule=""
  while :; do
    resume=()
    [ "$attempt" -gt 0 ] && resume=(--resume)
    newest_step=$(newest_checkpoint "$dir" | grep -o '[0-9]*')
    newest_step=${newest_step:-0}
    attempt=$((attempt + 1))
    echo "--- attempt $attempt" >> "$log"
    "$bin/rsd_train" "${common[@]}" "${training[@]}" --set "run.name=$name" "${resume[@]}" \
      >> "$log" 2>&1 &
    pid=$!
    if [ "$kills" -lt "$kills_planned" ]; then
      if [ $((RANDOM % 2)) -eq 0 ]; then
        delay_ms=$((300 + RANDOM % 4500))
        ( sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
          kill -KILL "$pid" 2> /dev/null ) &
        killer=$!
        { wait "$pid"; } 2> /dev/null; rc=$?
        kill "$killer" 2> /dev/null; wait "$killer" 2> /dev/null
        what="after ${delay_ms} ms"
        # A kill that lands in a save leaves its temporary behind.
        compgen -G "$dir/*.tmp.*" > /dev/null && what="$what (in a save)" \
          && kills_in_save=$((kills_in_save + 1))
      else
        # A step the run has still to save: the newest checkpoint's successor or later.
        # (A kill after the last save but before the exit leaves none: then that save again.)
        remaining=$((steps - newest_step > 0 ? steps - newest_step : 1))
        target=$((newest_step + 1 + RANDOM % remaining))
        [ "$target" -le "$steps" ] || target=$steps
        outcome=$(kill_in_save "$pid" "$dir" "$target")
        { wait "$pid"; } 2> /dev/null; rc=$?
        what="in the save of step_$target.pt ($outcome)"
        [ "$outcome" = in-save ] && kills_in_save=$((kills_in_save + 1))
      fi
      if [ "$rc" -eq 137 ]; then
        kills=$((kills + 1))
        kills_total=$((kills_total + 1))
        newest=$(newest_checkpoint "$dir")
        schedule="$schedule; kill $kills $what, newest ${newest:-none}"
        continue
      fi
      schedule="$schedule; planned kill $what came after the end"
    else
      wait "$pid"; rc=$?
    fi
    [ "$rc" -eq 0 ] || verdict="FAILED: attempt $attempt exited $rc (see $log)"
    break
  done
  seconds=$(echo "$(date +%s.%N) - $trial_start" | bc)
  trial_seconds+=("$seconds")
  if [ -z "$verdict" ]; then
    if ! comparison=$("$bin/rsd_compare_checkpoints" "$reference" "$dir/step_$steps.pt" 2>&1); then
      verdict="DIFFERENT: $comparison"
    elif ! steps_logged_once "$runs/$name/metrics.jsonl"; then
      verdict="DIFFERENT: metrics.jsonl does not log each of the $steps steps once"
    elif compgen -G "$dir/*.tmp.*" > /dev/null; then
      verdict="DIFFERENT: temporaries of killed saves were left in $dir"
    else
      verdict="identical"
      identical=$((identical + 1))
    fi
  fi
  printf 'trial %d (seed %d, %.1f s, %d attempts%s): %s\n' "$trial" $((seed * 1000 + trial)) \
    "$seconds" "$attempt" "$schedule" "$verdict"
  # Keep the runs of failed trials only (each checkpoint is ~12 MB).
  [ "$verdict" = identical ] && rm -rf "$runs/$name"
done

stamp "disk full: a file-size limit (ulimit -f, SIGXFSZ ignored so write() fails with EFBIG)"
disk_ok=1
disk_fail() { echo "disk full: FAILED: $*"; disk_ok=0; }
name=disk_full
dir="$runs/$name/checkpoints"
log="$work/$name.log"
before=$((steps / 2))
"$bin/rsd_train" "${common[@]}" "${training[@]}" --set "run.name=$name" \
  --set "train.stop_after=$before" > "$log" 2>&1 || disk_fail "the first $before steps failed"
previous="$dir/step_$before.pt"
previous_sum=$(sha256sum "$previous" | cut -d' ' -f1)
limit_kb=$(( $(stat -c %s "$previous") / 1024 / 2 ))
echo "--- resumed under ulimit -f $limit_kb (KiB)" >> "$log"
( trap '' XFSZ; ulimit -f "$limit_kb"
  exec "$bin/rsd_train" "${common[@]}" "${training[@]}" --set "run.name=$name" --resume ) \
  >> "$log" 2>&1
rc=$?
error=$(grep -iE 'error|cannot' "$log" | tail -n 1)
echo "disk full: exit status $rc; last error line: $error"
[ "$rc" -eq 1 ] || disk_fail "expected exit status 1, got $rc"
grep -q 'File too large' <<< "$error" || disk_fail "the error does not say the file was too large"
grep -q "step_$((before + 1)).pt" <<< "$error" || disk_fail "the error does not name the checkpoint"
[ "$(sha256sum "$previous" | cut -d' ' -f1)" = "$previous_sum" ] \
  || disk_fail "$previous changed"
compgen -G "$dir/*.tmp.*" > /dev/null && disk_fail "the failed save left its temporary in $dir"
newest=$(newest_checkpoint "$dir")
[ "$newest" = "step_$before.pt" ] || disk_fail "newest checkpoint is $newest, not step_$before.pt"
"$bin/rsd_compare_checkpoints" "$runs/reference/checkpoints/step_$before.pt" "$previous" \
  > /dev/null || disk_fail "$previous differs from the reference's step $before"
echo "--- resumed without the limit" >> "$log"
"$bin/rsd_train" "${common[@]}" "${training[@]}" --set "run.name=$name" --resume >> "$log" 2>&1 \
  || disk_fail "resuming after the failed save failed (see $log)"
"$bin/rsd_compare_checkpoints" "$reference" "$dir/step_$steps.pt" > /dev/null \
  || disk_fail "the run resumed after the failed save ends with other weights"
[ "$disk_ok" -eq 1 ] && echo "disk full: passed (clear error, step_$before.pt intact, resumed to step $steps with the reference's weights)"

stamp "done; data, runs and logs in $work"
total=0
for s in "${trial_seconds[@]}"; do total=$(echo "$total + $s" | bc); done
[ "$trials" -gt 0 ] && printf 'mean time per trial: %.1f s (reference run %.1f s); %d kills, %d inside a save\n' \
  "$(echo "$total / $trials" | bc -l)" "$ref_seconds" "$kills_total" "$kills_in_save"
echo "$identical of $trials trials identical"
[ "$identical" -eq "$trials" ] && [ "$disk_ok" -eq 1 ]
