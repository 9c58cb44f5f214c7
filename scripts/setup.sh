#!/usr/bin/env bash
# Installs the Debian packages that librsd's build, tests and demo need, and nothing else.
# Idempotent: packages already installed are not touched and no apt call is made when nothing
# is missing. Needs root or sudo; says so clearly when neither is available.
#
# Usage: scripts/setup.sh [--torch debian|pypi]
#   debian (default)  Debian's libtorch 1.13 (CPU), as above.
#   pypi              also PyPI's torch 2.x (CUDA build) in the project's virtual environment .venv/;
#                     its CMake prefix is printed and written to .venv/torch_cmake_prefix
#                     (scripts/test.sh --torch pypi points CMAKE_PREFIX_PATH at it); and PyPI's
#                     tensorboard there, whose event reader the TensorBoard test uses.
set -euo pipefail

torch_source=debian
while [ $# -gt 0 ]; do
  case "$1" in
    --torch) torch_source=${2:-}; shift 2 || shift ;;
    --torch=*) torch_source=${1#--torch=}; shift ;;
    *) echo "setup: unknown argument '$1' (usage: scripts/setup.sh [--torch debian|pypi])" >&2; exit 2 ;;
  esac
done
case "$torch_source" in
  debian|pypi) ;;
  *) echo "setup: --torch takes 'debian' or 'pypi', not '$torch_source'" >&2; exit 2 ;;
esac

# Build tools, then libraries (one per line so that diffs show what a change adds).
packages=(
  cmake
  g++
  ninja-build
  ccache
  pkg-config
  libtorch-dev          # libtorch 1.13 (CPU) headers and libraries
  libopenblas0-pthread  # becomes libblas.so.3: libtorch 1.13's matrix products ~9 % faster per
                        # training step than Debian's reference BLAS (docs/performance.md)
  libgloo-dev           # c10d's ProcessGroupGloo headers include <gloo/...>
  libopencv-dev         # image decode/encode/resize, pictures
  libeigen3-dev
  libyaml-cpp-dev       # configs
  libspdlog-dev         # logging
  nlohmann-json3-dev    # annotations, metrics, VLM answers
  libcli11-dev          # app front-ends
  zlib1g-dev            # Bench2Drive's .json.gz annotations
  libgtest-dev
  libgmock-dev
  libbenchmark-dev      # rsd_bench
  libcurl4-openssl-dev  # the VLM teacher's HTTP client (OpenAI-compatible endpoints)
  libprotobuf-dev       # TensorBoard event files (the event and summary messages)
  protobuf-compiler     # protoc: generates their C++ classes at build time
  pybind11-dev          # the CARLA agent's Python module rsd_carla (skipped without it)
  python3-dev           # its Python headers
  python3-numpy         # the CARLA agent's test: CARLA's sensor arrays (Debian's /usr/bin/python3)
  python3-opencv        # the CARLA agent's test: reads the recorded camera PNGs
  python3-yaml          # the CARLA agent: its conf file
)

# PyPI's torch needs a virtual environment to install into.
if [ "$torch_source" = pypi ]; then
  packages+=(python3-venv)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

install_debian_packages() {
  if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#packages[@]} packages present"
    return 0
  fi

  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "setup: these packages are missing: ${missing[*]}" >&2
    echo "setup: installing them needs root; run as root or give this user passwordless sudo," >&2
    echo "       or install them yourself: apt-get install ${missing[*]}" >&2
    exit 1
  fi

  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  echo "setup: done"
}

install_debian_packages
if [ "$torch_source" = debian ]; then
  exit 0
fi

# PyPI's torch 2.x (CUDA build, several GB with its nvidia-* runtime wheels) in .venv/. Nothing is
# downloaded when the environment already has a torch 2.x with CUDA.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv"
python=${RSD_PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
torch_requirement='torch>=2,<3'

# Prints "version cuda abi prefix" of the environment's torch; fails when it has none.
describe_torch() {
  PYTHONWARNINGS=ignore "$venv/bin/python" - <<'PY' 2>/dev/null
import torch, torch.utils
print(torch.__version__, torch.version.cuda or "none", int(torch._C._GLIBCXX_USE_CXX11_ABI),
      torch.utils.cmake_prefix_path)
PY
}

if ! found=$(describe_torch) || [ "${found%%.*}" != 2 ] || [ "$(echo "$found" | cut -d' ' -f2)" = none ]; then
  if [ ! -x "$venv/bin/python" ]; then
    echo "setup: creating the virtual environment $venv ($python)"
    "$python" -m venv "$venv"
  fi
  echo "setup: installing PyPI's torch ($torch_requirement, CUDA build, several GB) into $venv"
  start=$(date +%s)
  "$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off \
    "$torch_requirement"
  echo "setup: torch installed in $(( $(date +%s) - start )) s"
  if ! found=$(describe_torch); then
    echo "setup: torch was installed into $venv but does not import" >&2
    exit 1
  fi
fi

# PyPI's tensorboard: its event reader checks the files training writes (tests/python/).
if ! "$venv/bin/python" -c 'import tensorboard' 2>/dev/null; then
  echo "setup: installing PyPI's tensorboard into $venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off tensorboard
fi

read -r version cuda abi prefix <<<"$found"
if [ "$cuda" = none ]; then
  echo "setup: $venv has torch $version without CUDA; remove $venv and rerun to get the CUDA build" >&2
  exit 1
fi
if [ "$abi" != 1 ]; then
  echo "setup: torch $version in $venv was built with the pre-C++11 ABI (_GLIBCXX_USE_CXX11_ABI=0):" >&2
  echo "       it cannot link with Debian's OpenCV, yaml-cpp and spdlog, which use the C++11 ABI" >&2
  exit 1
fi
echo "$prefix" >"$venv/torch_cmake_prefix"
echo "setup: PyPI torch $version (CUDA $cuda, C++11 ABI) in $venv"
echo "setup: its CMake prefix (in $venv/torch_cmake_prefix): $prefix"
