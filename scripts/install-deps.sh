#!/usr/bin/env bash
# Installs (as root, with apt-get) whatever build dependency of ra-cpp is missing.
# Debian bookworm packages only; nothing is downloaded from anywhere else.
set -euo pipefail
packages=(build-essential cmake clang libclang-rt-14-dev libcaf-dev libssl-dev openssl libboost-dev libspdlog-dev catch2 nlohmann-json3-dev libcli11-dev jq prometheus-cpp-dev doxygen
          pkg-config dpkg-dev file)   # the last three: the package tests (pkg-config, cpack -G DEB)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
