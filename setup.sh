#!/usr/bin/env bash
# setup.sh — prepares a fresh Debian 12 machine for Hearth (as root: apt-get) and builds it.
#   ./setup.sh           install packages, npm ci, build build/hearth
#   ./setup.sh --deps    install packages and npm ci only (CI)
set -euo pipefail
cd "$(dirname "$0")"

packages=(
  build-essential make gcc         # the C core and CLI
  clang-19 lld-19 libclang-rt-19-dev  # libFuzzer + sanitizers (fuzz targets), wasm builds
  libclang-rt-19-dev-wasm32 wasi-libc # WebAssembly build of the core and its kernel tests
  unicode-data                     # Unicode tables for the tokenizer's generator (tools/)
  chromium                         # SwiftShader Vulkan (WebGPU conformance) and browser tests
  libvulkan1                       # Vulkan loader for Dawn
  python3 python3-numpy            # tools/ (table generators, converters)
  ca-certificates
)
if ! command -v node >/dev/null 2>&1; then packages+=(nodejs npm); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

npm ci --no-audit --no-fund

if [ "${1:-}" != "--deps" ]; then
  make -j"$(nproc)"
  echo "setup.sh: built build/hearth"
fi
