#!/usr/bin/env bash
# The README's test command: installs what is missing, configures (Release), builds with every
# core and runs the whole test suite. Usage: scripts/test.sh [BUILD_DIR]   (default: build)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-"$root/build"}
jobs=$(nproc)
start=$(date +%s)

bash "$root/scripts/setup.sh"

generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DRSD_BUILD_TESTS=ON
cmake --build "$build" --parallel "$jobs"
built=$(date +%s)

ctest --test-dir "$build" --output-on-failure --parallel "$jobs" --timeout 1500
end=$(date +%s)
echo "test.sh: build $((built - start)) s, tests $((end - built)) s, total $((end - start)) s"
