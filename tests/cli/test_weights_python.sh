#!/usr/bin/env bash
# Weights to and from Python with PyPI torch (docs/model.md, "Weights to and from Python"): a tiny
# run's checkpoint -> rsd_export -> torch.load(weights_only=True), checked against the manifest the
# C++ side wrote -> doubled and torch.save'd in Python -> model.init_weights (the strict import)
# -> exported again and compared in Python; a file lacking a name is refused, naming it.
# Usage: test_weights_python.sh BIN_DIR PYTHON SCRIPT. Exit 77 (skipped) without torch in PYTHON.
set -euo pipefail
bin=$1
python=$2
script=$3
"$python" -c "import torch" 2>/dev/null || { echo "skipped: no torch in $python"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/tiny_run.sh"

echo "== a tiny run's checkpoint"
checkpoint=$(tiny_checkpoint "$bin" "$work") || fail "the tiny run failed"

echo "== export, then torch.load in Python"
"$bin/rsd_export" --checkpoint "$checkpoint" --out "$work/exported.pt" --manifest "$work/exported.json"
dropped=$("$python" "$script" check "$work/exported.pt" "$work/exported.json" "$work/doubled.pt" \
          "$work/missing.pt") || { echo "$dropped"; fail "Python's check of the export"; }

echo "== Python's doubled weights back into the C++ model (model.init_weights)"
"$bin/rsd_export" --config "$work/tiny.yaml" --set "model.init_weights=$work/doubled.pt" \
  --out "$work/reexported.pt"
"$python" "$script" doubled "$work/reexported.pt" "$work/exported.pt"

echo "== a file lacking $dropped is refused"
status=0
output=$("$bin/rsd_export" --config "$work/tiny.yaml" --set "model.init_weights=$work/missing.pt" \
         --out "$work/refused.pt" 2>&1) || status=$?
[ "$status" -eq 1 ] || fail "exit status $status, expected 1: $output"
grep -qF "missing 1: $dropped" <<<"$output" || fail "the refusal does not name $dropped: $output"
grep -qF "$work/missing.pt" <<<"$output" || fail "the refusal does not name the file: $output"
[ ! -e "$work/refused.pt" ] || fail "a refused import still wrote its export"
echo "weights round trip passed"
