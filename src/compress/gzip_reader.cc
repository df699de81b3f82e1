// GzipReader over ISA-L: isal_read_gzip_header() parses each member's header (resumable
// across input refills because the header struct lives as long as the member), then
// isal_inflate() with ISAL_GZIP_NO_HDR_VER inflates and verifies the CRC-32/ISIZE trailer.
#include "compress/gzip_reader.h"

#include <isa-l/igzip_lib.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <string>
#include <utility>

namespace nydus::compress {
namespace {

constexpr uint8_t kMagic0 = 0x1f;
constexpr uint8_t kMagic1 = 0x8b;

// ISA-L's result codes as text. ISAL_INCORRECT_CHECKSUM means the header CRC (FHCRC) when
// parsing a header, the CRC-32/ISIZE trailer when inflating.
std::string IsalError(int r, bool in_header) {
  switch (r) {
    case ISAL_INVALID_WRAPPER:
      return "not a gzip header (bad magic)";
    case ISAL_UNSUPPORTED_METHOD:
      return "unsupported compression method (not deflate)";
    case ISAL_INVALID_BLOCK:
      return "invalid deflate block";
    case ISAL_INVALID_SYMBOL:
      return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK:
      return "invalid deflate back-reference distance";
    case ISAL_INCORRECT_CHECKSUM:
      return in_header ? "gzip header CRC mismatch"
                       : "CRC-32 or length in the gzip trailer does not match the data";
    default:
      return std::string(in_header ? "invalid gzip header" : "inflate failed") + " (isa-l error " +
             std::to_string(r) + ")";
  }
}

}  // namespace

bool HasGzipMagic(ByteSpan prefix) {
  return prefix.size() >= 2 && prefix[0] == kMagic0 && prefix[1] == kMagic1;
}

GzipReader::GzipReader(Source source, size_t in_buffer_size)
    : source_(std::move(source)),
      in_(std::clamp<size_t>(in_buffer_size, 16, UINT32_MAX)),
      inflate_(std::make_unique<inflate_state>()),
      header_(std::make_unique<isal_gzip_header>()) {
  isal_inflate_init(inflate_.get());
  inflate_->next_in = in_.data();
  inflate_->avail_in = 0;
  StartMember();
}

GzipReader::~GzipReader() = default;

void GzipReader::StartMember() {
  isal_inflate_reset(inflate_.get());  // keeps next_in / avail_in
  inflate_->crc_flag = ISAL_DEFLATE;
  isal_gzip_header_init(header_.get());
  header_->flags = 0;  // isa-l before 2.31 leaves it unset
  state_ = State::kHeader;
}

std::string GzipReader::Where() const {
  return "gzip member " + std::to_string(members_ + 1) + " at compressed offset " +
         std::to_string(read_in_ - inflate_->avail_in);
}

Status GzipReader::Fail(Status st) {
  failed_ = std::move(st);
  return failed_;
}

Result<bool> GzipReader::Refill(size_t keep) {
  inflate_state* s = inflate_.get();
  if (input_eof_) return false;
  if (keep > 0 && s->next_in != in_.data()) std::memmove(in_.data(), s->next_in, keep);
  size_t got = 0;
  while (got == 0) {
    Result<size_t> r = source_(in_.data() + keep, in_.size() - keep);
    if (!r.ok()) return Fail(r.status().WithContext("reading gzip input"));
    if (*r > in_.size() - keep) return Fail(Status::Internal("gzip source overfilled buffer"));
    if (*r == 0) {
      input_eof_ = true;
      break;
    }
    got = *r;
  }
  read_in_ += got;
  if (got > 0) started_ = true;
  s->next_in = in_.data();
  s->avail_in = static_cast<uint32_t>(keep + got);
  return got > 0;
}

Result<size_t> GzipReader::Read(uint8_t* out, size_t cap) {
  RETURN_IF_ERROR(failed_);
  cap = std::min<size_t>(cap, UINT32_MAX);
  inflate_state* s = inflate_.get();
  size_t produced = 0;
  while (produced < cap && state_ != State::kDone) {
    switch (state_) {
      case State::kHeader: {
        if (s->avail_in == 0) {
          ASSIGN_OR_RETURN(bool more, Refill());
          if (!more) {
            return Fail(Status::Corruption(started_ ? "truncated gzip header (" + Where() + ")"
                                                    : std::string("empty gzip input")));
          }
        }
        const int r = isal_read_gzip_header(s, header_.get());
        if (r == ISAL_DECOMP_OK) {
          s->crc_flag = ISAL_GZIP_NO_HDR_VER;  // inflate, then check CRC-32 and ISIZE
          state_ = State::kBody;
        } else if (r != ISAL_END_INPUT) {
          return Fail(Status::Corruption(IsalError(r, /*in_header=*/true) + " (" + Where() + ")"));
        } else if (s->avail_in != 0) {
          return Fail(Status::Internal("gzip: header parser made no progress (" + Where() + ")"));
        }
        break;
      }
      case State::kBody: {
        const uint32_t in_before = s->avail_in;
        const auto room = static_cast<uint32_t>(cap - produced);
        s->next_out = out + produced;
        s->avail_out = room;
        const int r = isal_inflate(s);
        const uint32_t wrote = room - s->avail_out;
        produced += wrote;
        total_out_ += wrote;
        if (r < 0) {
          return Fail(Status::Corruption(IsalError(r, /*in_header=*/false) + " (" + Where() + ")"));
        }
        if (s->block_state == ISAL_BLOCK_FINISH) {
          // The trailer check consumes every buffered bit; anything left would mean the
          // next member's first bytes were swallowed.
          if (s->read_in_length >= 8 || s->tmp_in_size != 0) {
            return Fail(Status::Internal("gzip: unexpected inflate state after " + Where()));
          }
          ++members_;
          state_ = State::kBetween;
          break;
        }
        if (wrote == 0 && s->avail_in == in_before) {  // needs input
          if (s->avail_in != 0) {
            return Fail(Status::Internal("gzip: inflate made no progress (" + Where() + ")"));
          }
          ASSIGN_OR_RETURN(bool more, Refill());
          if (!more) {
            return Fail(Status::Corruption("truncated gzip data (" + Where() + ")"));
          }
        }
        break;
      }
      case State::kBetween: {
        if (s->avail_in == 0) {
          ASSIGN_OR_RETURN(bool more, Refill());
          if (!more) {
            state_ = State::kDone;
            break;
          }
        }
        if (s->next_in[0] == kMagic0 && s->avail_in < 2) {
          ASSIGN_OR_RETURN(bool more, Refill(1));
          if (!more) {
            return Fail(Status::Corruption("truncated gzip header (" + Where() + ")"));
          }
        }
        if (s->next_in[0] != kMagic0 || s->next_in[1] != kMagic1) {
          trailing_garbage_ = true;  // gzip(1): "trailing garbage ignored"
          state_ = State::kDone;
          break;
        }
        StartMember();
        break;
      }
      case State::kDone:
        break;
    }
  }
  total_in_ = read_in_ - s->avail_in;
  return produced;
}

}  // namespace nydus::compress
