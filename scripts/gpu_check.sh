#!/usr/bin/env bash
# The GPU check (issue 13), one command for a machine with one GPU, under 8 minutes: builds the
# PyPI torch 2.x (CUDA) variant or reuses its build dir, checks the GPU and torch's view of it, runs
# the CUDA unit tests, times voxel pooling (configs A and B: the op, the naive and the cumsum paths
# on the same GPU in the same run), training steps at synth_tiny and b2d_base sizes, 200 steps of
# configs/synth_tiny.yaml (fp32, then bf16 and fp16 autocast where train.amp exists) and the data
# loader with 1, 2, 4 and 8 workers, and writes ONE JSON summary. Each stage runs under its own time
# limit; a failing stage is recorded and the next one runs. Nothing is downloaded.
#
# Usage: scripts/gpu_check.sh [--cpu] [--no-build] [--build-dir DIR]
#   --cpu            the same stages on the CPU at tiny sizes and step counts: a rehearsal on a
#                    machine without a GPU (stages that need one are skipped, CUDA tests skip)
#   --no-build       use the build dir's binaries as they are
#   --build-dir DIR  default: build-pypi; configured like `scripts/test.sh --torch pypi` when absent
# Needs .venv/ from `scripts/setup.sh --torch pypi` (its python reads torch's facts and writes the
# summary).
# Writes $OUT/gpu_check.json when OUT is set, else DIR/gpu_check.json, and every stage's log in
# gpu_check_logs.tar.gz beside it. Exit status: 0 when no stage failed, 1 otherwise, 2 on bad usage.
# RSD_GPU_CHECK_BUDGET_S (default 450): the whole check's seconds; a stage gets at most what is left
# and is skipped when less than 15 s are left. RSD_CUDA_ARCHITECTURES: as for test.sh (default
# when configuring here: the visible GPU's).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
mode=gpu
do_build=1
build="$root/build-pypi"
usage="usage: scripts/gpu_check.sh [--cpu] [--no-build] [--build-dir DIR]"
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu) mode=cpu; shift ;;
    --no-build) do_build=0; shift ;;
    --build-dir) [ $# -ge 2 ] || { echo "gpu_check: --build-dir needs a directory; $usage" >&2; exit 2; }
                 build=$(realpath -m "$2"); shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "gpu_check: unknown argument '$1'; $usage" >&2; exit 2 ;;
  esac
done

python="$root/.venv/bin/python"
if [ ! -x "$python" ]; then
  echo "gpu_check: $root/.venv is missing: it holds PyPI's torch (libtorch for the PyPI build and" >&2
  echo "           python for this script). Run scripts/setup.sh --torch pypi first, on a machine that" >&2
  echo "           reaches PyPI (this check downloads nothing), or bring .venv along with the tree." >&2
  exit 1
fi

# ----- sizes: the GPU check proper, or its CPU rehearsal at tiny sizes -----------------------------
if [ "$mode" = gpu ]; then
  device=cuda
  bench_settings=(--repetitions 5)   # Google Benchmark repetitions of each voxel-pool timing
  pool_sizes=()                      # configs A and B as defined (C = 80)
  train_bench_steps=20
  train_bench_batches=(1 4)
  train_steps=200
  train_workers=4                    # loader workers of the training runs (16 cores)
  train_sets=()                      # synth_tiny as it is
  synth_clips=6 synth_frames=40
  loader_settings=(--repetitions 3 --min-time 0.5)  # each worker count: >= 5 s and 2 epochs
  loader_frames=24
else
  device=cpu
  bench_settings=(--repetitions 1 --min-time 0.01)
  pool_sizes=(--channels 8)
  train_bench_steps=1
  train_bench_batches=(1)
  train_steps=5
  train_workers=1
  train_sets=(--set train.warmup_steps=1 --set train.log_every=1)  # 20 would exceed 5 steps
  synth_clips=2 synth_frames=12
  loader_settings=(--repetitions 1 --min-time 0.01)
  loader_frames=4
fi
loader_workers=1,2,4,8
# The CUDA tests (named *_CUDA, or with Cuda, Nccl or Gpu in their names; they skip visibly without
# a GPU) and their neighbours: devices, autocast, bfloat16.
test_filter='*Cuda*:*CUDA*:*cuda*:*Gpu*:*GPU*:*Nccl*:*NCCL*:*nccl*:Device*:Autocast*:Amp*:*BFloat16*:*Bf16*'
targets=(rsd_unit_tests rsd_dist_worker rsd_bench rsd_train rsd_data rsd_cache_risk)

summary_dir=${OUT:-$build}
mkdir -p "$summary_dir"
work=$(mktemp -d "${TMPDIR:-/tmp}/rsd_gpu_check.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/logs" "$work/figures" "$work/skip"
bin="$build/bin"
data="$work/data/synth"
risk="$work/data/synth_risk"
data_sets=(--set "data.root=$data" --set "data.split_file=$data/train_val_split.json"
           --set "data.risk_cache=$risk" --set "teacher.output=$risk")
budget_s=${RSD_GPU_CHECK_BUDGET_S:-450}
start_s=$(date +%s)

# A build dir configured for another checkout (the tree copied elsewhere) has absolute RUNPATHs
# to that checkout: point the loader at this one's libraries instead.
configured_for=""
[ -f "$build/CMakeCache.txt" ] &&
  configured_for=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt")
if [ -n "$configured_for" ] && [ "$configured_for" != "$root" ]; then
  torch_lib=$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null || true)
  export LD_LIBRARY_PATH="$build/lib${torch_lib:+:$torch_lib}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

# ----- the stages: each runs in a child bash (set -euo pipefail) with its log as stdout/stderr ----
# A stage writes what it measured to $figures/$STAGE.json; `skip REASON` ends it as skipped.

skip() { echo "$*" >"$work/skip/$STAGE"; exit 77; }

stage_gpu() {
  if ! command -v nvidia-smi >/dev/null 2>&1; then
    [ "$mode" = cpu ] && skip "no nvidia-smi (CPU rehearsal)"
    echo "nvidia-smi not found: no NVIDIA driver on this machine"; exit 1
  fi
  nvidia-smi
  nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv,noheader \
    >"$figures/gpu.csv"
}

stage_torch() {
  "$python" - "$mode" >"$figures/torch.json" <<'PY'
import json, sys, warnings
warnings.filterwarnings("ignore")
import torch
facts = {"version": torch.__version__, "cuda": torch.version.cuda,
         "cuda_available": torch.cuda.is_available(), "device_count": torch.cuda.device_count()}
if facts["cuda_available"]:
    p = torch.cuda.get_device_properties(0)
    facts.update(device_name=p.name, capability=f"{p.major}.{p.minor}",
                 memory_GiB=round(p.total_memory / 2**30, 1), multiprocessors=p.multi_processor_count,
                 bf16_supported=torch.cuda.is_bf16_supported())
print(json.dumps(facts))
if sys.argv[1] == "gpu" and not facts["cuda_available"]:
    sys.exit("torch " + facts["version"] + " sees no GPU (torch.cuda.is_available() is False)")
PY
  cat "$figures/torch.json"
}

stage_build() {
  if [ "$do_build" = 0 ]; then
    for t in "${targets[@]}"; do [ -x "$bin/$t" ] || { echo "--no-build: $bin/$t is missing"; exit 1; }; done
    echo '{"reused": true}' >"$figures/build.json"
    skip "--no-build: the binaries in $bin used as they are"
  fi
  if [ -f "$build/CMakeCache.txt" ]; then
    if [ "$configured_for" != "$root" ]; then
      echo "$build was configured for the tree at $configured_for, not $root: it cannot be rebuilt"
      echo "here; its binaries are used as they are (LD_LIBRARY_PATH points at this tree's libraries)"
      exit 1
    fi
    cmake --build "$build" --parallel "$(nproc)" --target "${targets[@]}"
    return
  fi
  # Configured as scripts/test.sh --torch pypi does, for the visible GPU's architecture only.
  local prefix cuda_home=${CUDA_HOME:-/usr/local/cuda} arch=${RSD_CUDA_ARCHITECTURES:-}
  prefix=$("$python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
  if [ -z "$arch" ] && [ -f "$figures/gpu.csv" ]; then
    arch=$(head -n1 "$figures/gpu.csv" | awk -F', *' '{gsub(/\./, "", $4); print $4}')
  fi
  local generator=()
  command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DRSD_BUILD_TESTS=ON \
    -DCMAKE_PREFIX_PATH="$prefix" -DRSD_WITH_CUDA=ON -DCMAKE_CUDA_COMPILER="$cuda_home/bin/nvcc" \
    -DCUDAToolkit_ROOT="$cuda_home" ${arch:+-DRSD_CUDA_ARCHITECTURES="$arch"}
  cmake --build "$build" --parallel "$(nproc)" --target "${targets[@]}"
}

stage_cuda_tests() {
  local rc=0
  "$bin/rsd_unit_tests" --gtest_filter="$test_filter" --gtest_output="json:$figures/cuda_tests.json" || rc=$?
  # On a GPU the tests named *_CUDA (one GPU suffices) must run, not skip; the other skips (two
  # GPUs, a libtorch without CUDA) are listed in the summary.
  if [ "$mode" = gpu ]; then
    "$python" - "$figures/cuda_tests.json" <<'PY' || rc=1
import json, re, sys
doc = json.load(open(sys.argv[1]))
skipped = [f'{s["name"]}.{t["name"]}' for s in doc["testsuites"] for t in s["testsuite"]
           if t.get("result") == "SKIPPED" and re.search(r"_CUDA$", t["name"])]
if skipped:
    sys.exit("CUDA tests skipped on a GPU machine: " + ", ".join(skipped))
PY
  fi
  return "$rc"
}

stage_cuda_kernels_linked() {
  # The ctest checks that the CUDA kernels are in the object and in librsd_core (both variants'
  # CI runs them; here they confirm the binaries about to be timed are those).
  ctest --test-dir "$build" -R '^ops\.cuda_kernels' --output-on-failure --no-tests=error
}

voxel_pool() {
  "$bin/rsd_bench" --json "${bench_settings[@]}" voxel-pool --config "$1" --device "$device" \
    "${pool_sizes[@]}" >"$figures/$STAGE.json"
}
stage_voxel_pool_A() { voxel_pool A; }
stage_voxel_pool_B() { voxel_pool B; }

train_bench() {
  "$bin/rsd_bench" --json train --device "$device" --batch "$1" --steps "$train_bench_steps" \
    --configs configs/synth_tiny.yaml configs/b2d_base.yaml >"$figures/$STAGE.json"
}
stage_train_bench_batch1() { train_bench 1; }
stage_train_bench_batch4() { train_bench 4; }

stage_train_data() {
  "$bin/rsd_data" synth --out "$data" --clips "$synth_clips" --frames "$synth_frames" --seed 1 \
    --width 704 --height 396 --no-progress
  "$bin/rsd_cache_risk" --config configs/synth_tiny.yaml "${data_sets[@]}" --no-progress
}

# train RUN_NAME [--set key=value ...]: synth_tiny for $train_steps steps on $device, then its
# metrics.jsonl summarised.
train() {
  local name=$1; shift
  [ -f "$data/train_val_split.json" ] || { echo "no training data: the train_data stage failed"; exit 1; }
  local rc=0 t0 t1
  t0=$(date +%s.%N)
  "$bin/rsd_train" --config configs/synth_tiny.yaml "${data_sets[@]}" \
    --set "run.root=$work/runs" --set "run.name=$name" --set "run.device=$device" \
    --set run.progress=false --set "train.steps=$train_steps" --set "train.val_every=$train_steps" \
    --set "train.checkpoint_every=$train_steps" --set "data.loader.workers=$train_workers" "${train_sets[@]}" "$@" || rc=$?
  t1=$(date +%s.%N)
  # A precision that the CPU rehearsal's device cannot autocast is a config error (2) there.
  if [ "$rc" = 2 ] && [ "$mode" = cpu ] && [ "${amp:-none}" != none ]; then
    skip "rsd_train refused train.amp=$amp on the CPU (exit 2; the log says why)"
  fi
  [ "$rc" = 0 ] || exit "$rc"
  "$python" - "$work/runs/$name/metrics.jsonl" "$t0" "$t1" "$train_workers" "$@" \
    >"$figures/$STAGE.json" <<'PY'
import json, statistics, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
train = [l for l in lines if l.get("mode") == "train"]
val = [l for l in lines if l.get("mode") == "val"]
def median(key):
    values = [l[key] for l in train if isinstance(l.get(key), (int, float))]
    return statistics.median(values) if values else None
print(json.dumps({
    "overrides": sys.argv[5:], "loader_workers": int(sys.argv[4]),
    "steps": train[-1]["step"] if train else 0,
    "wall_s": round(float(sys.argv[3]) - float(sys.argv[2]), 2),
    "first_loss": train[0]["loss"] if train else None, "last_loss": train[-1]["loss"] if train else None,
    "val_loss": val[-1]["loss"] if val else None,
    "median_samples_per_s": median("samples_per_s"), "median_step_s": median("time"),
    "median_data_wait_fraction": median("data_wait_fraction")}, indent=1))
PY
}

amp_train() {
  # train.amp came with issue 13: a build without it reports the key as unknown (exit 2).
  local rc=0
  "$bin/rsd_train" --config configs/synth_tiny.yaml --set "train.amp=$1" --print-config >/dev/null || rc=$?
  [ "$rc" = 2 ] && skip "this rsd_train does not take train.amp=$1"
  [ "$rc" = 0 ] || exit "$rc"
  amp=$1 train "amp_$1" --set "train.amp=$1"
}
stage_train_fp32() { train fp32; }
stage_train_amp_bf16() { amp_train bf16; }
stage_train_amp_fp16() { amp_train fp16; }

loader() {
  "$bin/rsd_bench" --json "${loader_settings[@]}" loader --workers "$loader_workers" \
    --frames "$loader_frames" "$@" >"$figures/$STAGE.json"
}
stage_loader_b2d_base() { loader; }  # 256x704, the bench's default
stage_loader_synth_tiny() {
  "$bin/rsd_bench" loader --help | grep -q -- '--height' || skip "this rsd_bench loader has no --height"
  loader --height 128 --width 352
}

# ----- the runner ----------------------------------------------------------------------------------

export mode device build bin python work data risk figures="$work/figures" configured_for do_build \
  test_filter train_bench_steps train_steps train_workers synth_clips synth_frames loader_workers \
  loader_frames
# Arrays cannot be exported: the stages get them as declarations.
array_decls=$(declare -p bench_settings pool_sizes loader_settings data_sets targets train_sets)
export array_decls
export -f skip train voxel_pool train_bench amp_train loader

# run_stage NAME LIMIT_S: runs stage_NAME; exit 0 = ok, 77 = skipped, 124/137 = timed out.
run_stage() {
  local name=$1 limit=$2 left rc=0 t0 t1 wall status reason=""
  export -f "stage_$name"
  left=$(( budget_s - ($(date +%s) - start_s) ))
  if [ "$left" -lt 15 ]; then
    printf '%s\tskipped\t\t0\t%s\tout of the %s s budget\n' "$name" "$limit" "$budget_s" >>"$work/stages.tsv"
    echo "== $name: skipped (out of the ${budget_s} s budget)"
    return 0
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  echo "== $name (limit ${limit} s)"
  t0=$(date +%s.%N)
  # shellcheck disable=SC2016  # expanded by the child bash, not here
  STAGE=$name timeout --kill-after=10 "$limit" \
    bash -c 'set -euo pipefail; eval "$array_decls"; "stage_$STAGE"' >"$work/logs/$name.log" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  case "$rc" in
    0) status=ok ;;
    77) status=skipped; reason=$(cat "$work/skip/$name" 2>/dev/null || true) ;;
    124|137) status=timed_out; reason="over its ${limit} s limit" ;;
    *) status=failed ;;
  esac
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$status" "$rc" "$wall" "$limit" "$reason" \
    >>"$work/stages.tsv"
  echo "   $status ($wall s)${reason:+: $reason}"
}

echo "gpu_check: $mode mode, build dir $build, summary in $summary_dir/gpu_check.json"
: >"$work/stages.tsv"
run_stage gpu 30
run_stage torch 60
run_stage build 300
run_stage cuda_tests 120
run_stage cuda_kernels_linked 60
run_stage voxel_pool_A 90
run_stage voxel_pool_B 120
for b in "${train_bench_batches[@]}"; do run_stage "train_bench_batch$b" 150; done
run_stage train_data 90
run_stage train_fp32 150
run_stage train_amp_bf16 150
run_stage train_amp_fp16 150
run_stage loader_b2d_base 120
run_stage loader_synth_tiny 90

# ----- the summary ---------------------------------------------------------------------------------
tar -czf "$summary_dir/gpu_check_logs.tar.gz" -C "$work" logs
librsd_version=$("$bin/rsd_train" --version 2>/dev/null || echo unknown)
commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
settings=$(printf '{"device": "%s", "bench_settings": "%s", "voxel_pool_sizes": "%s", "train_bench_steps": %s, "train_steps": %s, "train_loader_workers": %s, "train_sets": "%s", "synth_clips": %s, "synth_frames": %s, "loader_settings": "%s", "loader_frames": %s, "loader_workers": "%s"}' \
  "$device" "${bench_settings[*]}" "${pool_sizes[*]}" "$train_bench_steps" "$train_steps" \
  "$train_workers" "${train_sets[*]}" "$synth_clips" "$synth_frames" "${loader_settings[*]}" \
  "$loader_frames" "$loader_workers")
"$python" - "$work" "$summary_dir/gpu_check.json" "$mode" "$build" "$budget_s" \
  "$(( $(date +%s) - start_s ))" "$librsd_version" "$commit" "$test_filter" "$settings" <<'PY'
import json, os, platform, sys
work, out, mode, build, budget, wall, librsd, commit, test_filter, settings = sys.argv[1:]
figures = os.path.join(work, "figures")

def load(name):
    path = os.path.join(figures, name + ".json")
    if not os.path.exists(path):
        return None
    text = open(path).read()
    try:
        return json.loads(text)
    except ValueError:  # anything printed before the document
        start = text.find("\n{")
        return json.loads(text[start + 1:]) if start >= 0 else {"unparsed": text[-2000:]}

def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()

def memory_GiB():
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal"):
            return round(int(line.split()[1]) / 2**20, 1)

gpu = None
if os.path.exists(os.path.join(figures, "gpu.csv")):
    fields = [f.strip() for f in open(os.path.join(figures, "gpu.csv")).readline().split(",")]
    gpu = dict(zip(["name", "memory_total", "driver", "compute_capability"], fields))

stages = []
for line in open(os.path.join(work, "stages.tsv")):
    name, status, rc, wall_s, limit, reason = line.rstrip("\n").split("\t")
    stage = {"name": name, "status": status, "exit_code": int(rc) if rc else None,
             "wall_s": round(float(wall_s), 2), "limit_s": int(limit)}
    if reason:
        stage["reason"] = reason
    log = os.path.join(work, "logs", name + ".log")
    if status in ("failed", "timed_out") and os.path.exists(log):
        stage["log_tail"] = open(log, errors="replace").read()[-3000:]
    stages.append(stage)

def timings(doc):
    return {r["name"]: round(r["median_ms"], 4) for r in doc.get("results", [])}

def headline_of(name, doc):
    """The figures worth reading first; the whole documents stay under "raw"."""
    if name == "cuda_tests":
        tests = [(s["name"] + "." + t["name"], t) for s in doc["testsuites"] for t in s["testsuite"]]
        return {"filter": test_filter,
                "passed": sorted(n for n, t in tests if t.get("result") == "COMPLETED" and not t.get("failures")),
                "failed": sorted(n for n, t in tests if t.get("failures")),
                "skipped": sorted(n for n, t in tests if t.get("result") == "SKIPPED")}
    if name.startswith("voxel_pool"):
        return {"median_ms": timings(doc),
                "derived": {k: v for k, v in doc["derived"].items()
                            if k.startswith(("speedup", "peak_extra", "effective", "on_cuda", "kept_points"))}}
    if name.startswith("train_bench"):
        return [{k: r[k] for k in ("config", "device", "batch", "step_ms", "samples_per_s",
                                   "peak_memory_MiB", "parameters_M")} for r in doc["results"]]
    if name.startswith("loader"):
        figures = {k: v for k, v in doc["derived"].items() if k.startswith("loader_")}
        figures["decode_ms"] = timings(doc)
        return figures
    return doc  # the training runs' own summaries

headline, raw = {}, {}
for stage in stages:
    name = stage["name"]
    if stage["status"] != "ok" and name != "cuda_tests":  # a failed test run still lists its tests
        continue
    try:
        doc = load(name)
        if doc is None or name in ("torch", "build"):  # those are in "host"
            continue
        headline[name] = headline_of(name, doc)
        if name.startswith("voxel_pool") or name.startswith("train_bench") or name.startswith("loader"):
            raw[name] = doc
    except Exception as error:  # a half-written document must not cost the summary
        headline[name] = {"unreadable": f"{type(error).__name__}: {error}"}

summary = {
    "check": "scripts/gpu_check.sh", "mode": mode, "build_dir": build,
    "wall_s": int(wall), "budget_s": int(budget), "settings": json.loads(settings),
    "result": "failed" if any(s["status"] in ("failed", "timed_out") for s in stages) else "ok",
    "host": {"cpu": cpu_model(), "cores": os.cpu_count(), "memory_GiB": memory_GiB(),
             "gpu": gpu, "torch": load("torch"), "librsd": librsd, "commit": commit,
             "build": load("build")},
    "stages": stages, "figures": headline, "raw": raw}
with open(out, "w") as f:
    json.dump(summary, f, indent=1)
print(f'gpu_check: {summary["result"]} in {wall} s; ' +
      ", ".join(f'{s["name"]} {s["status"]}' for s in stages))
print(f"gpu_check: summary {out}")
PY
awk -F'\t' '$2 == "failed" || $2 == "timed_out" { bad = 1 } END { exit bad }' "$work/stages.tsv"
