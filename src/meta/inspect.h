// Read-only reports over a decoded Image, used by the `nydus-image` CLI commands `check`,
// `inspect -R <request>` and `stat`. Shapes follow the reference nydus-image v2.2
// (src/bin/nydus-image/{inspect,stat,main}.rs); where the reference only prints text
// (`ls`, `stat <file>`), the JSON uses its printed fields in snake_case.
//
// Inode numbers: v5 reports the stored i_ino; v6 reports the nid (what nydusd exposes and
// the reference inspector prints), falling back to i_ino when no nid is known.
// Thread-safety: pure functions of their arguments.
#pragma once

#include <string>
#include <vector>

#include "base/json.h"
#include "base/result.h"
#include "meta/image.h"

namespace nydus::meta {

// `inspect -R stats`: {"inodes_count": N}, N as the superblock stores it: for v6 the number
// of nodes (hardlinks counted per name), for v5 the number of distinct non-root inodes.
Json InspectStats(const Image& image);

// `ls` in directory `path`: [{"type": "-"|"d"|"l"|" ", "inode": N, "name": "..."}] in
// directory order. NotFound / InvalidArgument when `path` is missing / not a directory.
Result<Json> InspectLs(const Image& image, const std::string& path);

// `stat <path>`: {"inode_number", "name", "size", "parent", "mode", "permissions", "nlink",
// "uid", "gid", "mtime", "mtime_nsec", "blocks", "chunks": [{"file_offset", "chunk_index",
// "compressed_size", "decompressed_size", "compressed_offset", "decompressed_offset",
// "blob_id", "chunk_id"}]}. "permissions" is the octal string of the mode bits; "blocks"
// is ceil(size / 512). NotFound when `path` is missing.
Result<Json> InspectStat(const Image& image, const std::string& path);

// `inspect -R blobs`: [{"blob_id", "readahead_offset", "readahead_size",
// "decompressed_size", "compressed_size", "uncompressed_size"}] in blob-table order;
// "uncompressed_size" duplicates "decompressed_size" (the reference's name) by contract.
Json InspectBlobs(const Image& image);

// `inspect -R prefetch`: [{"inode": N, "path": ["..."]}] in prefetch-table order. For v6
// non-directories "path" lists every hardlinked name; the v6 root's path is "" and the
// v5 root's "/", as the reference prints them.
Json InspectPrefetch(const Image& image);

// The `check` console lines, one per blob, each ending in '\n':
// "\t <idx>: <id>, compressed data size 0x<hex>, compressed file size 0x<hex>, uncompressed
// file size 0x<hex>, chunks: 0x<hex>, features: <names>" (features as format_blob_features:
// space-separated "aligned cap_toc chunk-digest chunk-v2 fs-meta separate tar-header toc zran").
std::string FormatBlobTable(const Image& image);

// The tree as `tree -a -J -v <mnt>` prints it with the mount path stripped (the reference's
// repeatable/*.result files): [{"type": "directory", "name": "", "contents": [...]},
// {"type": "report", "directories": D, "files": F}]. Entries are in version-sort order
// (strverscmp), symlinks carry "target" and an empty "contents"; types are file, directory,
// link, char, block, fifo, socket. D excludes the root and F counts the other entries; like
// `tree`, a symlink whose target resolves (inside the image, absolute targets from its root)
// to a directory counts as a directory.
Json TreeListing(const Image& image);

}  // namespace nydus::meta
