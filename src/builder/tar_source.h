// Tar source for `nydus-image create --type tar-rafs|targz-rafs` (reference
// `builder/src/tarball.rs`): one pass over a layer tar (plain or gzip, detected from the
// content; a regular file or a FIFO) builds the same node model the directory walker builds
// (dir_walker.h) while each regular file's bytes go straight into a ChunkStream, cut into
// chunks exactly as the directory source cuts them. Nothing is unpacked to disk.
//
// A gzip layer is inflated by TarInput (tar_input.h: ISA-L, multi-member, CRC-checked);
// parsing is libarchive's (ustar, GNU: long names/links, old sparse; PAX: path, linkpath,
// size, mtime with nanoseconds, uid/gid, SCHILY.xattr.*, LIBARCHIVE.xattr.*, GNU sparse
// 0.x/1.0). Sparse holes read as zeros. Per entry:
//  - path: leading "./" and "." components and repeated '/' are dropped and ".." removes the
//    component before it ("./a/../b" is "b", as OCI appliers clean paths); an absolute path,
//    a ".." above the root ("../x", "a/../../x") or a name over 255 bytes is an
//    InvalidArgument naming the entry; hardlink targets are normalised the same way;
//    "." (or "./") sets the root's attributes (the root otherwise is 0755, 0:0, mtime 0);
//    /stargz.index.json, /.prefetch.landmark, /.no.prefetch.landmark are skipped (as the
//    reference does);
//  - regular, directory, symlink, char/block device, fifo (other types: InvalidArgument);
//    mode = type | permission bits; uid/gid (0 when !explicit_uidgid); mtime + nsec; rdev
//    = makedev(major, minor) for devices, else 0; xattrs filtered by IsAcceptedXattr and
//    sorted; size: file size, symlink target length, 0 otherwise;
//  - a hardlink entry shares the Inode of its (earlier) target, which must exist and not be
//    a directory (error otherwise); its own header attributes are ignored, as extraction
//    does;
//  - missing parent directories are created like the reference (0755, 0:0, mtime 0, no
//    xattrs) and reported in `implied_dirs`; a later entry for such a directory sets its
//    attributes and keeps its children; an entry for an existing path replaces it (dir over
//    dir: attributes only; otherwise the whole node);
//  - whiteout files (.wh.<name>, .wh..wh..opq) are kept as the regular files they are, so
//    that layering (--parent-bootstrap) or merge applies them.
// Errors (InvalidArgument / Corruption / IOError with the entry path): everything above plus
// truncated or corrupt archives and libarchive failures; nothing is ever written outside
// the blob.
//
// Thread-safety: none needed (no globals). Memory: the tree plus the ChunkStream window.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "builder/chunk_stream.h"
#include "meta/image.h"

namespace nydus::builder {

struct TarSourceOptions {
  bool explicit_uidgid = true;  // false: uid/gid stored as 0
};

struct TarTree {
  std::unique_ptr<meta::Node> root;
  // Relative paths ("usr/local") of directories no entry listed, only implied by deeper
  // paths, in the order they were created. Still directories in `root`.
  std::vector<std::string> implied_dirs;
  uint64_t entries = 0;  // archive entries read (including skipped ones)
};

// Reads the archive at `path`, streaming regular-file data into `chunks` (the caller
// Flush()es it afterwards). Inode::ino is numbered like the directory walker's (root 1, then
// tree pre-order; hardlinks share).
Result<TarTree> ReadTarSource(const std::string& path, const TarSourceOptions& options,
                              ChunkStream* chunks);

// OCI semantics for implied directories of an upper layer: each directory of `implied`
// (relative paths inside `upper`) that is a directory in `lower` too gets a copy of the
// lower directory's attributes (mode, uid, gid, mtime, xattrs), so that applying the layer
// does not change them. This is what tests/tools/unpack-layer.sh does for directory builds;
// the reference tarball builder instead lets the 0755/mtime-0 placeholder replace them.
void InheritImpliedDirs(const meta::Node& lower, meta::Node* upper,
                        const std::vector<std::string>& implied);

}  // namespace nydus::builder
