#!/usr/bin/env bash
# Installs every Debian package ebb needs to build, test and run its demo, so that the
# README's two commands work on a fresh Debian 12 machine. Safe to run again: it only
# calls apt-get when something is missing.
set -euo pipefail

packages=(
  bazel-bootstrap
  g++
  librocksdb-dev
  rocksdb-tools
  libabsl-dev
  libprotobuf-dev
  protobuf-compiler
  libgtest-dev libgmock-dev
  libbenchmark-dev
  libssl-dev
  libcli11-dev
  rapidjson-dev
  clang-14 libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
