#!/usr/bin/env bash
# The Python twin (tools/python/rsd_twin) against the C++ model (tools/python/README.md):
# rsd_twin_reference writes synth_tiny's weights (random BatchNorm statistics), a random batch and
# the eval-mode outputs; compare_twin.py loads the weights strictly into the twin and compares every
# output. Twice: configs/synth_tiny.yaml as it is, and with four height bins (z-major channels of
# the pooled BEV), risk attention on the planning input and one sample. Then a twin with one
# weight changed must fail the comparison (the check can fail), and the twin's own state_dict must
# load back into the C++ model (model.init_weights, strict) unchanged.
# Usage: test_twin.sh REFERENCE_TOOL PYTHON SOURCE_DIR (rsd_export is taken from beside rsd_train's
# bin folder: the reference tool's). Exit 77 (skipped) without torch in PYTHON.
set -euo pipefail
reference=$1
python=$2
source_dir=$3
"$python" -c "import torch" 2>/dev/null || { echo "skipped: no torch in $python"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
compare=$source_dir/tools/python/compare_twin.py
config=$source_dir/configs/synth_tiny.yaml

echo "== synth_tiny"
"$reference" "$config" "$work/tiny"
"$python" "$compare" "$work/tiny" --threads 1

echo "== four height bins, risk attention, one sample"
"$reference" "$config" "$work/variant" "data.grid.z=[-5.0, 3.0, 2.0]" \
  "model.risk_head.risk_attention=true" "model.risk_head.risk_attention_alpha=0.5" \
  "data.loader.batch_size=1"
"$python" "$compare" "$work/variant" --threads 1

echo "== the twin's state_dict back into the C++ model"
"$python" - "$source_dir/tools/python" "$work/tiny" <<'PY'
import sys, torch
sys.path.insert(0, sys.argv[1])
from rsd_twin.model import E2EModel, TwinOptions
twin = E2EModel(TwinOptions.load(sys.argv[2] + "/model.json"))
twin.load_state_dict(torch.load(sys.argv[2] + "/weights.pt", weights_only=True), strict=True)
# A plain dict: libtorch 1.13 cannot read the OrderedDict that state_dict() returns.
torch.save(dict(twin.state_dict()), sys.argv[2] + "/from_twin.pt")
PY
"$(dirname "$reference")/rsd_export" --config "$config" --set "model.init_weights=$work/tiny/from_twin.pt" \
  --out "$work/tiny/back.pt" > /dev/null
"$python" - "$work/tiny" <<'PY'
import sys, torch
original = torch.load(sys.argv[1] + "/weights.pt", weights_only=True)
back = torch.load(sys.argv[1] + "/back.pt", weights_only=True)
assert original.keys() == back.keys(), sorted(set(original) ^ set(back))
different = [name for name in original if not torch.equal(original[name], back[name])]
assert not different, f"changed on the way back: {different[:5]}"
print(f"{len(back)} tensors back from the twin, bitwise equal")
PY

echo "== a changed weight is caught"
"$python" - "$work/tiny/weights.pt" <<'PY'
import sys, torch
weights = torch.load(sys.argv[1], weights_only=True)
weights["bev_encoder.stem.1.running_mean"] += 0.05
torch.save(weights, sys.argv[1])
PY
if "$python" "$compare" "$work/tiny" --threads 1 > "$work/changed.log"; then
  cat "$work/changed.log"
  echo "FAIL: a twin with a changed running_mean still matched"
  exit 1
fi
grep -q "FAIL: .*bev" "$work/changed.log" || { cat "$work/changed.log"; echo "FAIL: no bev failure"; exit 1; }
echo "twin matches passed"
