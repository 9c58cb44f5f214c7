#!/usr/bin/env bash
# The README's test command: installs what is missing, configures (Release), builds with every
# core and runs the whole test suite. Usage: scripts/test.sh [BUILD_DIR]   (default: build)
#
# scripts/test.sh --torch pypi [BUILD_DIR]   (default: build-pypi) does the same against PyPI's
# torch 2.x (CUDA build) from .venv/ (scripts/setup.sh --torch pypi), with the CUDA kernels compiled
# by /usr/local/cuda's nvcc for RSD_CUDA_ARCHITECTURES (environment; default: the project's list).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
torch_source=debian
case "${1:-}" in
  --torch) torch_source=${2:-}; shift 2 || shift ;;
  --torch=*) torch_source=${1#--torch=}; shift ;;
esac
case "$torch_source" in
  debian) build=${1:-"$root/build"} ;;
  pypi) build=${1:-"$root/build-pypi"} ;;
  *) echo "test.sh: --torch takes 'debian' or 'pypi', not '$torch_source'" >&2; exit 2 ;;
esac
jobs=$(nproc)
start=$(date +%s)

variant=()
if [ "$torch_source" = pypi ]; then
  bash "$root/scripts/setup.sh" --torch pypi
  # Only the wheel's libtorch on the include and link paths: Debian's must never mix in.
  cuda_home=${CUDA_HOME:-/usr/local/cuda}
  variant=(-DCMAKE_PREFIX_PATH="$(cat "$root/.venv/torch_cmake_prefix")"
           -DRSD_WITH_CUDA=ON -DCMAKE_CUDA_COMPILER="$cuda_home/bin/nvcc"
           -DCUDAToolkit_ROOT="$cuda_home")
  if [ -n "${RSD_CUDA_ARCHITECTURES:-}" ]; then
    variant+=(-DRSD_CUDA_ARCHITECTURES="$RSD_CUDA_ARCHITECTURES")
  fi
else
  bash "$root/scripts/setup.sh"
fi

generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DRSD_BUILD_TESTS=ON \
  "${variant[@]}"
cmake --build "$build" --parallel "$jobs"
built=$(date +%s)

ctest --test-dir "$build" --output-on-failure --parallel "$jobs" --timeout 1500
end=$(date +%s)
echo "test.sh: build $((built - start)) s, tests $((end - built)) s, total $((end - start)) s"
