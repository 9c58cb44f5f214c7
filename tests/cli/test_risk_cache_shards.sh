#!/usr/bin/env bash
# rsd_cache_risk split over processes (issue 19), through the app: --shard I/N and the
# RANK/WORLD_SIZE and SLURM_PROCID/SLURM_NTASKS variables write, into one folder, the bytes one
# unsharded run writes; `merge` of per-shard folders gives them too; `verify` exits 0 on the
# complete cache and 1, naming the clips, when one is missing or stale; bad shards exit 2.
# Usage: test_risk_cache_shards.sh BIN_DIR
set -euo pipefail
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/tiny_run.sh"
export SOURCE_DATE_EPOCH=1767225600  # headers record this time: runs can be compared byte for byte

tiny_clips "$bin" "$work" 5 4 11
{
  tiny_config "$work" --no-split
  echo "run: {progress: false, num_threads: 1}"
} > "$work/tiny.yaml"
cache() { "$bin/rsd_cache_risk" --config "$work/tiny.yaml" --no-progress --set "teacher.output=$1" "${@:2}"; }
same_folders() {  # same file names, same bytes
  [ "$(ls "$1")" = "$(ls "$2")" ] || fail "$1 and $2 hold other files: $(ls "$1") / $(ls "$2")"
  for file in "$1"/*; do cmp "$file" "$2/$(basename "$file")" || fail "$file differs"; done
}

echo "== one process"
cache "$work/whole" > /dev/null
[ "$(ls "$work/whole" | grep -c '\.rsdrisk$')" -eq 5 ] || fail "expected 5 caches: $(ls "$work/whole")"

echo "== 3 shards into one folder: --shard, RANK/WORLD_SIZE, SLURM_PROCID/SLURM_NTASKS"
cache "$work/shared" --shard 0/3 > /dev/null
RANK=1 WORLD_SIZE=3 cache "$work/shared" > /dev/null
SLURM_PROCID=2 SLURM_NTASKS=3 cache "$work/shared" > /dev/null
same_folders "$work/whole" "$work/shared"

echo "== 3 shards into their own folders, merged"
for i in 0 1 2; do cache "$work/shard$i" --shard "$i/3" > /dev/null; done
total=$(ls "$work"/shard0 "$work"/shard1 "$work"/shard2 | grep -c '\.rsdrisk$')
[ "$total" -eq 5 ] || fail "the shards wrote $total caches, expected 5 (each clip once)"
"$bin/rsd_cache_risk" merge --config "$work/tiny.yaml" --out "$work/merged" \
  "$work/shard0" "$work/shard1" "$work/shard2" | grep -q "5 clips copied" || fail "merge did not copy 5 clips"
same_folders "$work/whole" "$work/merged"

echo "== verify"
"$bin/rsd_cache_risk" verify --config "$work/tiny.yaml" --set "teacher.output=$work/merged" > "$work/verify.txt" \
  || fail "verify of the complete cache exited $?: $(cat "$work/verify.txt")"
grep -q "5 complete, 0 partial, 0 missing, 0 stale" "$work/verify.txt" || fail "$(cat "$work/verify.txt")"
gone=$(ls "$work/merged" | head -1)
rm "$work/merged/$gone"
status=0
"$bin/rsd_cache_risk" verify --config "$work/tiny.yaml" --set "teacher.output=$work/merged" > "$work/verify.txt" || status=$?
[ "$status" -eq 1 ] || fail "verify of an incomplete cache exited $status, expected 1"
grep -q "missing ${gone%.rsdrisk}" "$work/verify.txt" || fail "verify did not name the missing clip: $(cat "$work/verify.txt")"
status=0
"$bin/rsd_cache_risk" verify --config "$work/tiny.yaml" --set "teacher.output=$work/whole" \
  --set teacher.rule.ttc_critical_s=9.0 > "$work/verify.txt" || status=$?
[ "$status" -eq 1 ] || fail "verify of a stale cache exited $status, expected 1"
grep -q "0 complete, 0 partial, 0 missing, 5 stale" "$work/verify.txt" || fail "$(cat "$work/verify.txt")"
grep -q "ttc_critical_s" "$work/verify.txt" || fail "verify did not say what changed: $(cat "$work/verify.txt")"

echo "== bad shards exit 2 naming the flag or the variables"
expect_usage_error() {
  local pattern=$1 output status=0
  shift
  output=$("$@" 2>&1) || status=$?
  [ "$status" -eq 2 ] || fail "'$*' exited $status, expected 2: $output"
  grep -qF -- "$pattern" <<<"$output" || fail "'$*' did not say '$pattern': $output"
}
expect_usage_error "--shard: '3/3'" cache "$work/x" --shard 3/3
expect_usage_error "--shard: 'two'" cache "$work/x" --shard two
expect_usage_error "RANK/WORLD_SIZE: '1/0'" env RANK=1 WORLD_SIZE=0 "$bin/rsd_cache_risk" --config "$work/tiny.yaml"
expect_usage_error "SLURM_NTASKS is not set" env SLURM_PROCID=1 "$bin/rsd_cache_risk" --config "$work/tiny.yaml"
echo "OK"
