#!/usr/bin/env bash
# ctest core.one_libtorch: fails when a unit of the build read a header of Debian's libtorch
# (/usr/include/{torch,ATen,c10,caffe2}) while the build uses another libtorch.
# Usage: check_one_libtorch.sh NINJA BUILD_DIR
set -euo pipefail
ninja=$1
build=$2
deps=$("$ninja" -C "$build" -t deps)
units=$(grep -c '#deps' <<<"$deps" || true)
if [ "$units" -eq 0 ]; then
  echo "check_one_libtorch: ninja has no header dependencies recorded in $build (not built?)" >&2
  exit 1
fi
mixed=$(grep -E '^[[:space:]]+/usr/include/(torch|ATen|c10|caffe2)/' <<<"$deps" | sort -u || true)
if [ -n "$mixed" ]; then
  echo "check_one_libtorch: units of $build read Debian's libtorch headers:" >&2
  head -20 <<<"$mixed" >&2
  exit 1
fi
echo "check_one_libtorch: $units units, no header of Debian's libtorch"
