#!/usr/bin/env bash
# The README's main command: the whole job end to end. It grows with each capability; today it
# installs, builds, checks the configs and prepares a run directory, and shows the apps' help.
# Usage: scripts/demo.sh [BUILD_DIR]   (default: build)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-"$root/build"}
out="$root/out/demo"

bash "$root/scripts/setup.sh"
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DRSD_BUILD_TESTS=OFF
cmake --build "$build" --parallel "$(nproc)"
bin="$build/bin"

echo "== librsd: $("$bin/rsd_train" --version)"
for app in rsd_data rsd_cache_risk rsd_train rsd_eval rsd_bench; do
  echo "== $app --help"
  "$bin/$app" --help
done

mkdir -p "$out"
echo "== the resolved default config (every key, its default value)"
"$bin/rsd_train" --config "$root/configs/base/default.yaml" --print-config > "$out/default_config.yaml"
echo "   written to $out/default_config.yaml"

echo "== a run directory with the resolved config (rsd_train --dry-run)"
rm -rf "$out/runs/demo"
"$bin/rsd_train" --config "$root/configs/base/default.yaml" \
  --set run.root="$out/runs" --set run.name=demo --dry-run
echo "demo: run directory $out/runs/demo"
