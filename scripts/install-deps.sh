#!/usr/bin/env bash
# Installs every Debian 12 package nydus-cpp needs to build, test and run its demo.
# Usage: sudo scripts/install-deps.sh   (idempotent; safe to re-run)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PKGS=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang-14 libclang-rt-14-dev clang-format
  # libraries
  libzstd-dev liblz4-dev libssl-dev zlib1g-dev libisal-dev libarchive-dev libcurl4-openssl-dev
  libfuse3-dev fuse3 nlohmann-json3-dev libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # containerd snapshotter (src/snapshotter): gRPC + protobuf, and containerd for its e2e test
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc containerd python3-grpcio
  # test oracles and testbed
  erofs-utils squashfs-tools squashfuse attr acl python3 debootstrap docker-registry skopeo umoci runc
  curl ca-certificates apache2-utils kmod util-linux e2fsprogs file xxd
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm builds the node:bookworm test image; any npm will do (a nodejs from elsewhere ships its
# own, and Debian's npm package then conflicts with it).
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "dependencies ready"
