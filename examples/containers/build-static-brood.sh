#!/usr/bin/env bash
# Builds the brood command, statically linked, as the container images use it: the build stage of
# examples/containers/Dockerfile runs this script, and so does CI, so that both build it one way.
#   build-static-brood.sh [--strip] BUILD_DIR
# Prints the binary's path and what `file` says of it; fails unless it is a static executable that
# runs (`brood --version`). As root with apt-get (a Debian image), installs what is missing first.
set -euo pipefail

strip=false
if [[ ${1:-} == --strip ]]; then
  strip=true
  shift
fi
if (($# != 1)); then
  echo "usage: build-static-brood.sh [--strip] BUILD_DIR" >&2
  exit 2
fi
build=$1
source_dir=$(cd "$(dirname "$0")/../.." && pwd)

# Only what the brood command needs (scripts/install-deps adds the tests' and tools' packages).
packages=(build-essential cmake pkg-config lld libcli11-dev libfmt-dev libtomlplusplus-dev nlohmann-json3-dev
  libncurses-dev libhttp-parser-dev file)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    echo "build-static-brood.sh: missing packages: ${missing[*]} (install them, or run as root on Debian)" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Release and a unity build (the heavy headers parsed once per batch); tests and examples off, and
# only the brood command's target: the rest of the project is not needed in an image.
cmake -S "$source_dir" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBROOD_UNITY_BUILD=ON \
  -DBROOD_BUILD_TESTS=OFF -DBROOD_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target brood_cli -j"$(nproc)"

brood=$(cd "$build" && pwd)/tools/brood/brood
if $strip; then
  strip "$brood"
fi
echo "$brood"
description=$(file -b "$brood")
echo "$description"
# A FROM scratch image has no loader and no libc: only a static executable runs there.
if [[ $description != *"statically linked"* ]]; then
  echo "build-static-brood.sh: $brood is not statically linked (a sanitizer build?)" >&2
  exit 1
fi
"$brood" --version
