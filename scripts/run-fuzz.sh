#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, ASan + UBSan) in build-fuzz/ and runs each for
# SECONDS seconds on a corpus seeded from the reference fixtures.
#
# Usage: scripts/run-fuzz.sh [SECONDS]          (default 60)
# Env:   NYDUS_FIXTURES_DIR  fixture folder (default ../shared/fixtures/nydus)
#        JOBS                build parallelism (default 2)
#        FUZZ_TARGETS        subset to run (default: all of them)
#        FUZZ_BUILD_TESTS=1  configure build-fuzz with the unit tests and tools too
#                            (NYDUS_BUILD_TESTS=ON): scripts/sanitize.sh asan with
#                            ASAN_DIR=build-fuzz then builds and runs them on the same
#                            ASan+UBSan libraries, compiled once (.ci/run does this)
#        FUZZ_SKIP_BUILD=1   use build-fuzz as it is (two runs of this script in parallel on
#                            disjoint FUZZ_TARGETS: build once, then start both with it)
#        FUZZ_CORPUS_DIR     keep each target's corpus in FUZZ_CORPUS_DIR/<target> (seeded on
#                            first use, grown by every run) instead of a temporary directory
#        FUZZ_SEED, FUZZ_RUNS  with both set, each target runs exactly FUZZ_RUNS inputs from
#                            that seed instead of for SECONDS: the same binary then explores
#                            the same inputs every time (CI uses this, so a run is reproducible).
#                            Slow targets run a fraction of it (see run_divisor below).
# Exit status is non-zero when a target crashes, leaks or times out; the offending input
# is kept in build-fuzz/artifacts/.
set -euo pipefail

secs=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-fuzz
fixtures=${NYDUS_FIXTURES_DIR:-$root/../shared/fixtures/nydus}
targets=${FUZZ_TARGETS:-"fuzz_bootstrap_v5 fuzz_bootstrap_v6 fuzz_blob_meta fuzz_http_request
  fuzz_registry_config fuzz_registry_auth fuzz_manifest fuzz_tar_source fuzz_chunk_map
  fuzz_prefetch_files"}

# FUZZ_RUNS is divided by this for the targets whose single run is slower (temp files and
# mmap for fuzz_chunk_map, a whole `create` build per input for fuzz_tar_source) or that
# reach their plateau early, so that the CI run (FUZZ_RUNS=250000) grows by under 3 minutes.
run_divisor() {
  case $1 in
    fuzz_registry_config | fuzz_registry_auth | fuzz_manifest | fuzz_prefetch_files) echo 5 ;;  # 50000 runs
    fuzz_chunk_map) echo 10 ;;                        # 25000 runs
    fuzz_tar_source) echo 50 ;;                       # 5000 runs
    *) echo 1 ;;
  esac
}

tests=OFF
[ "${FUZZ_BUILD_TESTS:-0}" = 1 ] && tests=ON
if [ "${FUZZ_SKIP_BUILD:-0}" != 1 ]; then
  CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja -DNYDUS_BUILD_FUZZ=ON \
    -DNYDUS_BUILD_TESTS=$tests -DNYDUS_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  # shellcheck disable=SC2086
  ninja -j"${JOBS:-2}" -C "$build" $targets
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
work=${FUZZ_CORPUS_DIR:-$tmp}
mkdir -p "$work"
artifacts=$build/artifacts
mkdir -p "$artifacts"

# Little-endian helpers for the fuzz_blob_meta parameter block.
le32() { printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) \
  $(($1 >> 16 & 255)) $(($1 >> 24 & 255)))"; }
le64() { le32 $(($1 & 0xffffffff)); le32 $(($1 >> 32)); }

seed() {  # seed TARGET (a kept corpus that already has inputs is used as it is)
  local dir=$work/$1
  if [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then return; fi
  mkdir -p "$dir"
  if [ "$1" = fuzz_http_request ]; then  # request streams, no fixtures needed
    printf 'GET /api/v1/daemon HTTP/1.1\r\nHost: localhost\r\n\r\n' > "$dir/get"
    printf 'POST /api/v1/mount?mountpoint=%%2Fm&x=a+b HTTP/1.1\r\nContent-Length: 14\r\nExpect: 100-continue\r\n\r\n{"source":"x"}GET http://localhost/metrics HTTP/1.0\r\nConnection: keep-alive\r\n\r\n' > "$dir/pipelined"
    return
  fi
  case $1 in  # text and archive decoders: seeds written inline, no fixtures needed
    fuzz_registry_config)
      printf '{"version":2,"id":"d","backend":{"type":"registry","registry":{"scheme":"http","host":"reg:5000","repo":"library/x","auth":"dTpw","timeout":5,"proxy":{"url":"http://p","fallback":true},"mirrors":[]}},"cache":{"type":"filecache","filecache":{"work_dir":"/c"},"prefetch":{"enable":true,"threads":4}},"rafs":{"mode":"direct","prefetch":{"enable":false}}}' > "$dir/v2"
      printf '{"host":"h","repo":"r","registry_token":"tok","mirrors":[{"host":"http://m","headers":{"k":"v"},"failure_limit":3}]}' > "$dir/registry"
      printf 'version = 2\nid = "d"\n[backend]\ntype = "localfs"\n[backend.localfs]\ndir = "/b"\nalt_dirs = ["/a"]\n[cache]\ntype = "blobcache"\n[cache.blobcache]\nwork_dir = "/c"\n[rafs]\nmode = "cached"\nbatch_size = 4096\n' > "$dir/toml"
      printf '{"device":{"backend":{"type":"registry","config":{"host":"h","repo":"r"}},"cache":{"type":"blobcache","config":{"work_dir":"/c"}}},"mode":"direct","digest_validate":true,"fs_prefetch":{"enable":true,"threads_count":4,"merging_size":131072}}' > "$dir/v1"
      return ;;
    fuzz_registry_auth)  # byte 0 picks the parser (0 challenge, 1 token, 2 URL, 3 Location,
      # 4 escape, 5 error body)
      printf '\000Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"' > "$dir/bearer"
      printf '\000Basic realm="a \\"quoted\\" realm", Bearer realm=x' > "$dir/basic"
      printf '\001{"token":"abc","access_token":"def","expires_in":300,"issued_at":"2020-01-01T00:00:00Z"}' > "$dir/token"
      printf '\002https://[::1]:5000/v2/library/x/blobs/sha256:00?x=y#f' > "$dir/url"
      printf '\003http://127.0.0.1:5000/v2/r/blobs/uploads/\n/v2/r/blobs/uploads/uuid?_state=abc' > "$dir/location"
      printf '\004library/ubuntu:pull,push /x?y' > "$dir/escape"
      printf '\005{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:00"}]}' > "$dir/errors"
      return ;;
    fuzz_prefetch_files)
      printf '{"version":"v1","files":[{"path":"/usr/bin/ls","ranges":null},{"path":"/usr/lib/libc.so","ranges":[[0,4096],[8192,4096]]},{"path":"/etc/hosts"}]}' > "$dir/json"
      printf '/usr/bin/python3\n# comment\n  /a b \r\n\n/app/main.py' > "$dir/plain"
      return ;;
    fuzz_manifest)  # byte 0 picks the Content-Type (1: OCI manifest, 3: OCI index)
      local d=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
      printf '\001{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":10},"layers":[{"mediaType":"application/vnd.oci.image.layer.nydus.blob.v1","digest":"%s","size":20,"annotations":{"containerd.io/snapshot/nydus-blob":"true"}}]}' "$d" "$d" > "$dir/manifest"
      printf '\003{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":1,"platform":{"os":"linux","architecture":"amd64","os.features":["nydus.remoteimage.v1"]}},{"digest":"%s","size":2,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]}' "$d" "$d" > "$dir/index"
      printf '\000localhost:5000/a/b:v1@%s\nubuntu\nlinux/arm64/v8\n{"auths":{"https://index.docker.io/v1/":{"auth":"dTpw"}}}' "$d" > "$dir/refs"
      return ;;
    fuzz_tar_source)  # a small layer with every entry type the tar source accepts, plain and gzip
      local t=$tmp/tar-src
      mkdir -p "$t/d/e"
      printf 'hello' > "$t/d/f"
      head -c 9000 /dev/zero | tr '\0' 'x' > "$t/d/e/big"
      ln -s ../d/f "$t/d/link"
      ln "$t/d/f" "$t/d/hard"
      touch "$t/d/.wh.gone"
      tar -C "$t" --owner=1:1 --group=2:2 -cf "$dir/layer.tar" . 2>/dev/null || true
      tar -C "$t" --format=pax --owner=1:1 --group=2:2 -czf "$dir/layer.tar.gz" d 2>/dev/null || true
      return ;;
    fuzz_chunk_map)  # a valid map header (8 chunks, 0 and 2 ready)
      { le32 0x424D4150; le32 1; le32 0x434D4150; le32 0; le32 0; head -c 4076 /dev/zero
        printf '\xa0'; } > "$dir/chunk_map"
      return ;;
  esac
  if [ ! -d "$fixtures" ]; then
    echo "note: fixtures not found at $fixtures; $1 starts from an empty corpus"
    return
  fi
  case $1 in
    fuzz_bootstrap_v5)
      for f in "$fixtures"/repeatable/*-repeatable "$fixtures"/repeatable/*_repeatable; do
        [ -f "$f" ] && cp "$f" "$dir/"
      done ;;
    fuzz_bootstrap_v6)
      [ -f "$fixtures/bootstrap/rafs-v6-2.2.boot" ] && cp "$fixtures/bootstrap/rafs-v6-2.2.boot" "$dir/" ;;
    fuzz_blob_meta)
      local blob
      for blob in "$fixtures"/blobs/*; do
        [ -f "$blob" ] || continue
        cp "$blob" "$dir/raw-$(basename "$blob" | cut -c1-12)"
        # The v6 fixture blob with the parameters of its blob table entry.
        { le32 2; le32 0x70000021; le64 0; le64 0x9000; le32 0; le32 1024
          le64 8314; le64 32; le64 32; le64 0; cat "$blob"; } > "$dir/param-$(basename "$blob" | cut -c1-12)"
      done ;;
  esac
}

status=0
for t in $targets; do
  seed "$t"
  limit=(-max_total_time="$secs")
  if [ -n "${FUZZ_SEED:-}" ] && [ -n "${FUZZ_RUNS:-}" ]; then
    runs=$((FUZZ_RUNS / $(run_divisor "$t")))
    limit=(-seed="$FUZZ_SEED" -runs="$runs")
  fi
  if [ ${#limit[@]} = 2 ]; then echo "== $t: $runs runs from seed $FUZZ_SEED"; else echo "== $t: ${secs}s"; fi
  if ! "$build/fuzz/$t" "$work/$t" "${limit[@]}" -max_len=65536 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
      >"$tmp/$t.log" 2>&1; then
    echo "!! $t failed; log tail:"
    tail -n 40 "$tmp/$t.log"
    status=1
  else
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+.*DONE)" "$tmp/$t.log" || true
  fi
done
exit $status
