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

for app in rsd_train rsd_eval rsd_cache_risk rsd_data rsd_bench; do
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

# Subcommands are required where the app has them.
expect 2 "" "$bin/rsd_data"
expect 2 "" "$bin/rsd_bench"

if [ "$failures" -ne 0 ]; then
  echo "$failures CLI check(s) failed"
  exit 1
fi
echo "CLI checks passed"
