#!/usr/bin/env bash
# Installs the Debian packages that librsd's build, tests and demo need, and nothing else.
# Idempotent: packages already installed are not touched and no apt call is made when nothing
# is missing. Needs root or sudo; says so clearly when neither is available.
set -euo pipefail

# Build tools, then libraries (one per line so that diffs show what a change adds).
packages=(
  cmake
  g++
  ninja-build
  ccache
  pkg-config
  libtorch-dev          # libtorch 1.13 (CPU) headers and libraries
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
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
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
