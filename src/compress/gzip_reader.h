// GzipReader: streaming gzip (RFC 1952) decompression with ISA-L's igzip, for reading
// .tar.gz layers (builder/tar_source.cc) several times faster than zlib.
//
// Input comes from a pull callback; Read() hands out inflated bytes. Semantics follow
// gzip(1):
//  - the stream is one or more members, concatenated; their outputs are concatenated;
//  - each member's header is checked (magic, method 8 = deflate, reserved flags, FEXTRA,
//    FNAME, FCOMMENT are skipped, FHCRC is verified), and its trailer: CRC-32 and ISIZE
//    (length mod 2^32) must match the inflated data;
//  - after a member: end of input ends the stream; the bytes 1f 8b start another member
//    (which must then be valid); anything else is trailing garbage, which is ignored
//    (trailing_garbage() reports it) and not read; a lone trailing 1f is a truncation;
//  - an empty input, a truncated member (in header, data or trailer) or invalid deflate
//    data is a Corruption naming the member and the input offset.
// Errors are sticky: after one, every Read() returns it. Read() always makes progress or
// fails, so a bad input never hangs it.
//
// Memory: the ISA-L state (~45 KiB) plus one input buffer (`in_buffer_size`).
// Thread-safety: one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

struct inflate_state;
struct isal_gzip_header;

namespace nydus::compress {

// True when `prefix` starts with the gzip magic (1f 8b).
bool HasGzipMagic(ByteSpan prefix);

class GzipReader {
 public:
  // Fills up to `cap` bytes of `buf` with compressed input; 0 means end of input.
  using Source = std::function<Result<size_t>(uint8_t* buf, size_t cap)>;

  explicit GzipReader(Source source, size_t in_buffer_size = 256 * 1024);
  ~GzipReader();
  GzipReader(const GzipReader&) = delete;
  GzipReader& operator=(const GzipReader&) = delete;

  // Inflates into out[0, cap) and returns the number of bytes written: `cap` unless the
  // stream ended (then fewer; 0 once everything was returned).
  Result<size_t> Read(uint8_t* out, size_t cap);

  bool finished() const { return state_ == State::kDone; }
  uint64_t members() const { return members_; }      // members completed so far
  uint64_t total_in() const { return total_in_; }    // compressed bytes consumed
  uint64_t total_out() const { return total_out_; }  // inflated bytes returned
  bool trailing_garbage() const { return trailing_garbage_; }

 private:
  enum class State { kHeader, kBody, kBetween, kDone };

  // Reads more input when the buffer is exhausted. `keep` bytes at the current position
  // are kept in front of the new data. Returns false at end of input.
  Result<bool> Refill(size_t keep = 0);
  void StartMember();
  Status Fail(Status st);
  std::string Where() const;

  Source source_;
  std::vector<uint8_t> in_;
  std::unique_ptr<inflate_state> inflate_;
  std::unique_ptr<isal_gzip_header> header_;
  State state_ = State::kHeader;
  bool started_ = false;  // any input seen
  bool input_eof_ = false;
  uint64_t members_ = 0;
  uint64_t total_in_ = 0;  // bytes handed to ISA-L (before the current position)
  uint64_t read_in_ = 0;   // bytes read from the source
  uint64_t total_out_ = 0;
  bool trailing_garbage_ = false;
  Status failed_;
};

}  // namespace nydus::compress
