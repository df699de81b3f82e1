// TarInput: the byte stream libarchive parses for a tar source (tar_source.h).
//
// Opens the layer (a regular file or a FIFO: read once, front to back) and looks at its
// first bytes. A gzip stream (magic 1f 8b) is inflated here with ISA-L
// (compress/gzip_reader.h: multi-member, CRC-32/ISIZE checked, truncation and damage are
// Corruption, trailing garbage after a member ignored as gzip(1) does), several times
// faster than libarchive's zlib filter; libarchive then sees the inflated tar. Anything
// else is handed to libarchive unchanged, so its own format and filter detection applies as
// before (for plain tar, or for a second gzip layer inside the first).
//
// Ownership: the archive borrows the TarInput (via its read callback); the TarInput must
// outlive every libarchive call on that archive. Thread-safety: one thread.
#pragma once

#include <archive.h>

#include <memory>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "base/result.h"
#include "compress/gzip_reader.h"

namespace nydus::builder {

class TarInput {
 public:
  // InvalidArgument when `path` cannot be opened; IOError when its first bytes cannot be
  // read.
  static Result<std::unique_ptr<TarInput>> Open(const std::string& path);
  TarInput(const TarInput&) = delete;
  TarInput& operator=(const TarInput&) = delete;

  bool gzip() const { return gzip_ != nullptr; }

  // archive_read_open() on `a` with this input as the client (no open/close callbacks:
  // the descriptor is the TarInput's). Returns libarchive's result code.
  int OpenArchive(struct archive* a);

  // Call after libarchive reported the end of the archive: for a gzip input, inflates and
  // discards whatever libarchive did not ask for, so that a damaged or truncated tail (or
  // a wrong CRC) is still an error. OK for plain input.
  Status Finish();

  // The first read error (IOError from the file, Corruption from the gzip stream); OK if
  // none. libarchive only learns that a read failed; this says why.
  const Status& error() const { return error_; }

  // For a libarchive failure `archive_error`: the read error behind it if there was one;
  // else, for gzip input, the damage in the rest of the gzip stream if there is any
  // (garbage inflated from a damaged member usually trips the tar parser before the
  // member's CRC is reached); else `archive_error`.
  Status Diagnose(Status archive_error);

 private:
  TarInput(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  static la_ssize_t ReadCallback(struct archive* a, void* client, const void** buf);
  Result<size_t> ReadRaw(uint8_t* buf, size_t cap);
  la_ssize_t Fail(struct archive* a, Status st);

  std::string path_;
  UniqueFd fd_;
  std::vector<uint8_t> raw_;  // plain: read buffer; first holds the peeked bytes
  size_t peeked_ = 0;         // bytes at the front of raw_ not yet handed out
  bool raw_eof_ = false;
  std::unique_ptr<compress::GzipReader> gzip_;
  std::vector<uint8_t> out_;  // gzip: inflated block handed to libarchive
  Status error_;
};

}  // namespace nydus::builder
