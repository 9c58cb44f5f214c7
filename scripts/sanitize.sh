#!/usr/bin/env bash
# Builds librsd, its apps and tests with AddressSanitizer + UndefinedBehaviorSanitizer (GCC,
# Debian's libtorch 1.13, CPU) in build-asan and runs the test suite there. Not part of .ci/run:
# it costs about as much as both CI variants together on 2 cores (docs/testing.md, "Sanitizers").
# Usage: scripts/sanitize.sh [ctest arguments...]     e.g. scripts/sanitize.sh -R '^Trainer'
#   RSD_SANITIZE_BUILD  build folder (default build-asan)
#   RSD_JOBS            parallel compile and test jobs (default: every core)
# libtorch itself is not instrumented. Left out of the run: the tests that configure and build
# other projects against the installed package (consumer*, core_only*, riskhead_plugin*, install,
# the link-rule checks): their executables are not built with the sanitizers, so the instrumented
# librsd cannot be loaded into them, and they test packaging, not memory.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${RSD_SANITIZE_BUILD:-"$root/build-asan"}
jobs=${RSD_JOBS:-$(nproc)}

bash "$root/scripts/setup.sh"
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
start=$(date +%s)
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRSD_BUILD_TESTS=ON -DRSD_WITH_CUDA=OFF -DRSD_SANITIZE=address,undefined
cmake --build "$build" --parallel "$jobs"
built=$(date +%s)

# Leaks inside libtorch and its dependencies (one-time allocations of their registries, reported
# at exit) are suppressed by library; anything allocated from librsd's own frames still reports.
export LSAN_OPTIONS=${LSAN_OPTIONS:-"suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0"}
export ASAN_OPTIONS=${ASAN_OPTIONS:-"detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=0"}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-"print_stacktrace=1:halt_on_error=1"}
status=0
ctest --test-dir "$build" --output-on-failure --parallel "$jobs" --timeout 3000 \
  -E '^(consumer|core_only|riskhead_plugin|install$|core\.(needed_libraries|link_rule_refuses|one_libtorch))' \
  "$@" || status=$?
end=$(date +%s)
echo "sanitize.sh: build $((built - start)) s, tests $((end - built)) s, total $((end - start)) s"
exit $status
