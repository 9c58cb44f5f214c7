#!/usr/bin/env bash
# The apps' command-line contract: --help and --version exit 0, a bad flag exits 2, a missing or
# malformed config file or a wrong key exits 2 with one line naming it, a runtime failure exits 1.
# Usage: test_apps.sh BIN_DIR SOURCE_DIR
set -u
bin=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect CODE PATTERN CMD...: runs CMD, checks its exit code and that PATTERN occurs in its output.
expect() {
  local code=$1 pattern=$2
  shift 2
  local output status
  output=$("$@" 2>&1)
  status=$?
  if [ "$status" -ne "$code" ]; then
    fail "'$*' exited $status, expected $code. Output:"; echo "$output" | head -20
  elif [ -n "$pattern" ] && ! grep -qF -- "$pattern" <<<"$output"; then
    fail "'$*' did not print '$pattern'. Output:"; echo "$output" | head -20
  fi
  LAST_OUTPUT=$output
}

for app in rsd_train rsd_eval rsd_cache_risk rsd_data rsd_export rsd_bench; do
  expect 0 "Usage:" "$bin/$app" --help
  expect 0 "librsd" "$bin/$app" --version
  expect 2 "--help" "$bin/$app" --no-such-flag
done

# Config errors: one line naming the file or key, exit 2.
expect 2 "config file not found: $work/absent.yaml" "$bin/rsd_train" --config "$work/absent.yaml"
[ "$(wc -l <<<"$LAST_OUTPUT")" -eq 1 ] || fail "missing config gave more than one line: $LAST_OUTPUT"

printf 'train:\n  lr: [0.1\n' > "$work/broken.yaml"
expect 2 "$work/broken.yaml:" "$bin/rsd_train" --config "$work/broken.yaml"
[ "$(wc -l <<<"$LAST_OUTPUT")" -eq 1 ] || fail "malformed config gave more than one line: $LAST_OUTPUT"

printf 'model:\n  bev_encoder:\n    chanels: 64\n' > "$work/typo.yaml"
expect 2 "closest valid key: 'model.bev_encoder.channels'" "$bin/rsd_train" --config "$work/typo.yaml"
printf 'train:\n  steps: 3\n' > "$work/ok.yaml"
expect 2 "unknown config key 'train.lrr'" "$bin/rsd_eval" --config "$work/ok.yaml" --set train.lrr=1
expect 2 "unknown log level 'loud'" "$bin/rsd_train" --config "$source_dir/configs/base/default.yaml" --log-level loud

# --print-config shows overrides applied; --dry-run writes the run directory with config.yaml.
expect 0 "lr: 5e-4" "$bin/rsd_train" --config "$work/ok.yaml" --set train.lr=5e-4 --print-config
expect 0 "" "$bin/rsd_train" --config "$work/ok.yaml" --set run.root="$work/runs" --set run.name=dry --dry-run
[ -f "$work/runs/dry/config.yaml" ] || fail "--dry-run wrote no runs/dry/config.yaml"
[ -d "$work/runs/dry/checkpoints" ] || fail "--dry-run made no runs/dry/checkpoints/"
grep -q "steps: 3" "$work/runs/dry/config.yaml" || fail "runs/dry/config.yaml lacks the resolved value"
grep -q "run directory" "$work/runs/dry/log.txt" || fail "runs/dry/log.txt lacks the log"
# The same run name again is refused (runtime error, exit 1) unless resuming.
expect 1 "exists already" "$bin/rsd_train" --config "$work/ok.yaml" --set run.root="$work/runs" --set run.name=dry --dry-run
expect 0 "" "$bin/rsd_train" --config "$work/ok.yaml" --set run.root="$work/runs" --set run.name=dry --dry-run --resume

# A YAML alias bomb (nine levels of nine aliases: 387 million values once expanded) is refused as
# a config error naming the file, before it expands (a memory cap keeps a regression from
# swapping the machine).
{
  echo "l0: &l0 [x, x, x, x, x, x, x, x, x]"
  for level in 1 2 3 4 5 6 7 8; do
    below="*l$((level - 1))"
    echo "l$level: &l$level [$below, $below, $below, $below, $below, $below, $below, $below, $below]"
  done
} > "$work/bomb.yaml"
# AddressSanitizer reserves terabytes of address space for its shadow memory, which ulimit -v
# forbids: under it (scripts/sanitize.sh) only the time limit bounds a regression.
address_limit='ulimit -v 8000000;'
ldd "$bin/rsd_train" | grep -q libasan && address_limit=''
expect 2 "$work/bomb.yaml:" bash -c "$address_limit"' exec timeout 60 "$@"' - \
  "$bin/rsd_train" --config "$work/bomb.yaml" --print-config

# rsd_cache_risk exits 1 when more frames FAILED than teacher.max_failed_fraction allows (0 by
# default), naming the count and the first reasons; the caches are written all the same.
"$bin/rsd_data" synth --out "$work/clips" --clips 1 --frames 2 --seed 1 --width 128 --height 72 \
  --no-top-down --no-progress > /dev/null || fail "rsd_data synth failed"
: > "$work/answers.jsonl"
printf 'teacher:\n  type: jsonl\n  output: %s\n  jsonl: {path: %s}\ndata:\n  root: %s\n' \
  "$work/risk" "$work/answers.jsonl" "$work/clips" > "$work/no_answers.yaml"
expect 1 "2 of 2 frames FAILED" "$bin/rsd_cache_risk" --config "$work/no_answers.yaml" --no-progress
grep -qF "frame 0: no answer in $work/answers.jsonl" <<<"$LAST_OUTPUT" \
  || fail "rsd_cache_risk did not name the first reason: $LAST_OUTPUT"
expect 0 "2 frames FAILED" "$bin/rsd_cache_risk" --config "$work/no_answers.yaml" --no-progress \
  --set teacher.max_failed_fraction=1

# Subcommands are required where the app has them.
expect 2 "" "$bin/rsd_data"
expect 2 "" "$bin/rsd_bench"

if [ "$failures" -ne 0 ]; then
  echo "$failures CLI check(s) failed"
  exit 1
fi
echo "CLI checks passed"
