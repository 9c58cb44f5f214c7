#!/usr/bin/env bash
# rsd_cache_risk with the VLM teacher over several endpoints (issue 19), through the app: three
# stand-in servers (tests/tools/vlm_stand_in.py), one failing every second request; every frame
# ends labelled, the failed requests are retried on the others, and the per-endpoint counts the
# app reports are the requests and failures each server saw. With --measure: the time of 1 vs 3
# healthy endpoints with a fixed latency on the same frames (docs/scaling.md).
# Usage: test_vlm_endpoints.sh BIN_DIR [--measure [LATENCY_MS CONCURRENCY CLIPS FRAMES]]
set -euo pipefail
bin=$1
command -v python3 > /dev/null || { echo "skipped: no python3"; exit 77; }
stand_in_script="$(dirname "${BASH_SOURCE[0]}")/../tools/vlm_stand_in.py"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/tiny_run.sh"

# stand_in NAME ARGS...: starts a stand-in server logging to WORK/NAME.log; url NAME: its URL.
stand_in() {
  python3 "$stand_in_script" --port-file "$work/$1.port" --log "$work/$1.log" "${@:2}" &
  pids+=($!)
  for _ in $(seq 200); do [ -f "$work/$1.port" ] && return 0; sleep 0.05; done
  fail "the stand-in $1 did not start"
}
url() { echo "http://127.0.0.1:$(cat "$work/$1.port")/v1/chat/completions"; }
# label OUTPUT ENDPOINTS_YAML: the VLM teacher over ENDPOINTS into OUTPUT; prints the app's output.
label() {
  "$bin/rsd_cache_risk" --config "$work/tiny.yaml" --no-progress --set "teacher.output=$1" \
    --set teacher.type=vlm --set teacher.vlm.model=stand-in --set teacher.vlm.api_key_env=null \
    --set teacher.vlm.retries=0 --set teacher.vlm.backoff_s=0.0 --set teacher.vlm.timeout_s=20.0 \
    --set teacher.checkpoint_frames=${checkpoint_frames:-64} --set "teacher.vlm.endpoints=$2"
}

if [ "${2:-}" = --measure ]; then
  latency=${3:-200} concurrency=${4:-4} clips=${5:-4} frames=${6:-30}
  tiny_clips "$bin" "$work" "$clips" "$frames" 5
  { tiny_config "$work" --no-split; echo "run: {progress: false}"; } > "$work/tiny.yaml"
  for name in a b c; do stand_in "$name" --latency-ms "$latency"; done
  start=$(date +%s.%N)
  label "$work/one" "[{url: '$(url a)', concurrency: $concurrency}]" > "$work/one.txt"
  middle=$(date +%s.%N)
  label "$work/three" "[{url: '$(url a)', concurrency: $concurrency}, {url: '$(url b)', concurrency: $concurrency}, {url: '$(url c)', concurrency: $concurrency}]" > "$work/three.txt"
  end=$(date +%s.%N)
  requests=$(grep -o '[0-9]* requests' "$work/one.txt" | grep -o '[0-9]*')
  python3 -c "
one, three, n = $middle - $start, $end - $middle, $requests
print(f'{n} requests ({$clips} clips x {$frames} frames), latency {$latency} ms, concurrency {$concurrency} per endpoint:')
print(f'  1 endpoint:  {one:.2f} s, {n / one:.1f} frames/s (model {$concurrency * 1000 / $latency:.1f})')
print(f'  3 endpoints: {three:.2f} s, {n / three:.1f} frames/s (model {3 * $concurrency * 1000 / $latency:.1f})')
print(f'  speed-up x{one / three:.2f}')"
  exit 0
fi

tiny_clips "$bin" "$work" 3 8 7
{ tiny_config "$work" --no-split; echo "run: {progress: false}"; } > "$work/tiny.yaml"
stand_in good_a --latency-ms 30
stand_in flaky --latency-ms 30 --fail-every 2
stand_in good_b --latency-ms 30
label "$work/risk" "[{url: '$(url good_a)', concurrency: 2}, {url: '$(url flaky)', concurrency: 2}, {url: '$(url good_b)', concurrency: 2}]" > "$work/out.txt" \
  || fail "rsd_cache_risk failed: $(cat "$work/out.txt")"
cat "$work/out.txt"
grep -q " 0 frames FAILED" "$work/out.txt" || fail "frames FAILED although two endpoints were healthy"
total_failed=0
for name in good_a flaky good_b; do
  line=$(grep -F "$(url "$name"):" "$work/out.txt") || fail "no counts for $name"
  reported=$(sed -E 's/.*: ([0-9]+) requests, ([0-9]+) failed.*/\1 \2/' <<<"$line")
  seen="$(wc -l < "$work/$name.log" | tr -d ' ') $(grep -c fail "$work/$name.log" || true)"
  [ "$reported" = "$seen" ] || fail "$name: the app reports '$reported' (requests failed), the server saw '$seen'"
  [ "${seen% *}" -gt 0 ] || fail "$name got no request"
  total_failed=$((total_failed + ${seen#* }))
done
flaky=$(wc -l < "$work/flaky.log")
[ "$(grep -c fail "$work/flaky.log")" -eq $((flaky / 2)) ] || fail "the flaky stand-in did not fail every second request"
[ "$total_failed" -gt 0 ] || fail "no request failed: the retry path was not exercised"
"$bin/rsd_cache_risk" verify --config "$work/tiny.yaml" --set "teacher.output=$work/risk" \
  --set teacher.type=vlm --set teacher.vlm.model=stand-in > "$work/verify.txt" \
  || fail "verify: $(cat "$work/verify.txt")"
echo "OK"
