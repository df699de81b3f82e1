// Test-only helpers for the meta tests: fixture names, path lookup, byte patching.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "base/bytes.h"
#include "meta/bootstrap_reader.h"
#include "meta/image.h"

namespace nydus::meta::testing {

constexpr char kV6Boot[] = "bootstrap/rafs-v6-2.2.boot";
constexpr char kV5Daemon[] = "bootstrap/nydusd_daemon_test_bootstrap";
constexpr char kV5Sha256[] = "repeatable/sha256-nocompress-repeatable";
constexpr char kV5Blake3[] = "repeatable/blake3-lz4_block-non_repeatable";
constexpr char kV6Blob[] = "blobs/be7d77eeb719f70884758d1aa800ed0fb09d701aaec469964e9d54325f0d5fef";
constexpr char kV6BlobId[] = "be7d77eeb719f70884758d1aa800ed0fb09d701aaec469964e9d54325f0d5fef";

// The bootstrap at `path` read in full; a failure is a test failure (and an empty Image).
inline Image LoadImage(const std::string& path) {
  auto r = ReadBootstrapFile(path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : Image{};
}

// The node at absolute `path` ("/" is the root), or nullptr.
inline const Node* FindPath(const Image& image, const std::string& path) {
  const Node* cur = image.root.get();
  size_t pos = 1;
  while (cur != nullptr && pos < path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    cur = cur->FindChild(path.substr(pos, next - pos));
    pos = next + 1;
  }
  return cur;
}

inline void Put16(Bytes* b, uint64_t off, uint16_t v) { StoreLE16(b->data() + off, v); }
inline void Put32(Bytes* b, uint64_t off, uint32_t v) { StoreLE32(b->data() + off, v); }
inline void Put64(Bytes* b, uint64_t off, uint64_t v) { StoreLE64(b->data() + off, v); }

inline size_t CountNodes(const Node& root) {
  size_t n = 0;
  WalkTree(root, [&](const Node&, const std::string&) { return ++n, true; });
  return n;
}

}  // namespace nydus::meta::testing
