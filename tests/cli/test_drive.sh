#!/usr/bin/env bash
# rsd_drive (issue 16) through the app: the expert scores 100 on a small route set and the
# straight-line agent less; --jobs 2 and --shard I/N + merge --check-routes write the metrics.json
# of one process byte for byte; bad input exits 2 naming the problem; a merge missing a route
# fails naming it.
# Usage: test_drive.sh BIN_DIR
set -euo pipefail
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# Four routes over scenario types where the straight line makes mistakes (red light, obstacle,
# braking lead vehicle); small cameras (the expert and the reference agents do not look at them).
routes=(--routes 4 --scenarios ParkedObstacle,VanillaSignalizedTurnEncounterRedLight,HardBreakRoute,ParkingCutIn)
drive() { "$bin/rsd_drive" "${routes[@]}" --render 64x36 --no-strips "$@"; }
score() {  # the summary's driving score of a metrics.json (its first driving_score key)
  grep -m1 -o '"driving_score": [-0-9.e+]*' "$1" | sed 's/.*: //'
}

echo "== expert"
drive --agent expert --out "$work/expert" > "$work/log.txt" 2>&1 || fail "expert exited $?: $(cat "$work/log.txt")"
[ -f "$work/expert/metrics.json" ] || fail "no metrics.json"
[ -f "$work/expert/report.md" ] || fail "no report.md"
[ "$(ls "$work/expert/routes" | grep -c '\.json$')" -eq 4 ] || fail "expected 4 route files: $(ls "$work/expert/routes")"
expert=$(score "$work/expert/metrics.json")
awk -v s="$expert" 'BEGIN { exit !(s == 100) }' || fail "expert driving score $expert, expected 100"
grep -q '"success_rate": 100' "$work/expert/metrics.json" || fail "expert success rate is not 100"

echo "== straight line"
drive --agent straight_line --out "$work/straight" > "$work/log.txt" 2>&1 || fail "straight_line exited $?: $(cat "$work/log.txt")"
straight=$(score "$work/straight/metrics.json")
awk -v s="$straight" -v e="$expert" 'BEGIN { exit !(s < e) }' || fail "straight_line scored $straight, not below the expert's $expert"

echo "== --jobs 2 = one process"
drive --agent expert --out "$work/jobs" --jobs 2 > "$work/log.txt" 2>&1 || fail "--jobs 2 exited $?: $(cat "$work/log.txt")"
cmp "$work/expert/metrics.json" "$work/jobs/metrics.json" || fail "--jobs 2 wrote another metrics.json"

echo "== --shard 0/2 and 1/2, merged"
drive --agent expert --out "$work/shard0" --shard 0/2 > /dev/null 2>&1 || fail "shard 0/2 failed"
drive --agent expert --out "$work/shard1" --shard 1/2 > /dev/null 2>&1 || fail "shard 1/2 failed"
[ ! -f "$work/shard0/metrics.json" ] || fail "a shard of two wrote a summary"
total=$(ls "$work/shard0/routes" "$work/shard1/routes" | grep -c '\.json$')
[ "$total" -eq 4 ] || fail "the shards wrote $total route files, expected 4"
"$bin/rsd_drive" merge --out "$work/merged" "$work/shard0" "$work/shard1" --check-routes "${routes[@]}" > "$work/log.txt" 2>&1 \
  || fail "merge exited $?: $(cat "$work/log.txt")"
cmp "$work/expert/metrics.json" "$work/merged/metrics.json" || fail "the merged shards wrote another metrics.json"

echo "== a merge missing a route"
mkdir -p "$work/partial"
cp -r "$work/expert/routes" "$work/partial/routes"
gone=$(ls "$work/partial/routes" | head -1)
rm "$work/partial/routes/$gone"
status=0
"$bin/rsd_drive" merge --out "$work/merged2" "$work/partial" --check-routes "${routes[@]}" > "$work/log.txt" 2>&1 || status=$?
[ "$status" -ne 0 ] || fail "merge of a folder missing $gone exited 0"
grep -q "${gone%.json}" "$work/log.txt" || fail "merge did not name the missing route ${gone%.json}: $(cat "$work/log.txt")"

echo "== bad input exits 2 naming the problem"
expect_error() {  # expect_error PATTERN ARGS...: exit 2 and PATTERN in the output
  local pattern=$1 status=0
  shift
  "$bin/rsd_drive" "$@" > "$work/log.txt" 2>&1 || status=$?
  [ "$status" -eq 2 ] || fail "rsd_drive $* exited $status, expected 2: $(cat "$work/log.txt")"
  grep -q -- "$pattern" "$work/log.txt" || fail "rsd_drive $* did not say '$pattern': $(cat "$work/log.txt")"
}
config="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/configs/synth_tiny.yaml"
expect_error "--checkpoint" --agent model --out "$work/bad1" --routes 1
expect_error "--checkpoint" --config "$config" --out "$work/bad1" --routes 1
status=0
"$bin/rsd_drive" --config "$config" --checkpoint "$work/none.pt" --out "$work/bad1" --routes 1 > "$work/log.txt" 2>&1 || status=$?
[ "$status" -ne 0 ] || fail "a missing checkpoint exited 0"
grep -q "none.pt" "$work/log.txt" || fail "the missing checkpoint is not named: $(cat "$work/log.txt")"
expect_error "WxH" --agent expert --render 12 --out "$work/bad2" --routes 1
expect_error "NoSuchScenario" --agent expert --scenarios NoSuchScenario --out "$work/bad3" --routes 1
expect_error "jobs" --agent expert --jobs 0 --out "$work/bad4" --routes 1
expect_error "nobody" --agent nobody --out "$work/bad5" --routes 1
expect_error "jpeg-quality" --agent expert --jpeg-quality 101 --out "$work/bad6" --routes 1
expect_error "shard" --agent expert --shard 2/2 --out "$work/bad6" --routes 1

echo "PASS"
