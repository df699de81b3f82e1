#include "builder/tar_input.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "base/logging.h"

namespace nydus::builder {
namespace {

constexpr size_t kRawBlock = 256 * 1024;       // read() size, plain and compressed
constexpr size_t kInflatedBlock = 256 * 1024;  // inflated bytes per libarchive read

}  // namespace

Result<std::unique_ptr<TarInput>> TarInput::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::InvalidArgument("cannot open: " + std::string(std::strerror(errno)));
  }
  std::unique_ptr<TarInput> in(new TarInput(path, UniqueFd(fd)));
  in->raw_.resize(kRawBlock);
  // Peek: enough bytes to tell gzip from anything else (a FIFO may deliver them in pieces).
  while (in->peeked_ < 2 && !in->raw_eof_) {
    ASSIGN_OR_RETURN(size_t n,
                     in->ReadRaw(in->raw_.data() + in->peeked_, in->raw_.size() - in->peeked_));
    if (n == 0) in->raw_eof_ = true;
    in->peeked_ += n;
  }
  if (compress::HasGzipMagic(ByteSpan(in->raw_.data(), in->peeked_))) {
    TarInput* self = in.get();
    in->gzip_ = std::make_unique<compress::GzipReader>(
        [self](uint8_t* buf, size_t cap) -> Result<size_t> {
          if (self->peeked_ > 0) {  // the peeked bytes first
            const size_t n = std::min(cap, self->peeked_);
            std::memcpy(buf, self->raw_.data(), n);
            std::memmove(self->raw_.data(), self->raw_.data() + n, self->peeked_ - n);
            self->peeked_ -= n;
            return n;
          }
          if (self->raw_eof_) return size_t{0};
          return self->ReadRaw(buf, cap);
        },
        kRawBlock);
    in->out_.resize(kInflatedBlock);
  }
  return in;
}

Result<size_t> TarInput::ReadRaw(uint8_t* buf, size_t cap) {
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buf, cap);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return Status::FromErrno(errno, "read " + path_);
  }
}

int TarInput::OpenArchive(struct archive* a) {
  return archive_read_open(a, this, nullptr, &TarInput::ReadCallback, nullptr);
}

la_ssize_t TarInput::Fail(struct archive* a, Status st) {
  error_ = std::move(st);
  archive_set_error(a, error_.code() == StatusCode::kIOError ? EIO : EILSEQ, "%s",
                    error_.ToString().c_str());
  return ARCHIVE_FATAL;
}

// libarchive keeps using the returned block only until the next call.
la_ssize_t TarInput::ReadCallback(struct archive* a, void* client, const void** buf) {
  auto* self = static_cast<TarInput*>(client);
  if (!self->error_.ok()) return self->Fail(a, self->error_);
  if (self->gzip_ != nullptr) {
    Result<size_t> n = self->gzip_->Read(self->out_.data(), self->out_.size());
    if (!n.ok()) return self->Fail(a, n.status());
    *buf = self->out_.data();
    return static_cast<la_ssize_t>(*n);
  }
  *buf = self->raw_.data();
  if (self->peeked_ > 0) {
    const size_t n = self->peeked_;
    self->peeked_ = 0;
    return static_cast<la_ssize_t>(n);
  }
  if (self->raw_eof_) return 0;
  Result<size_t> n = self->ReadRaw(self->raw_.data(), self->raw_.size());
  if (!n.ok()) return self->Fail(a, n.status());
  if (*n == 0) self->raw_eof_ = true;
  return static_cast<la_ssize_t>(*n);
}

Status TarInput::Diagnose(Status archive_error) {
  if (!error_.ok()) return error_;
  if (gzip_ != nullptr && !Finish().ok()) return error_;
  return archive_error;
}

Status TarInput::Finish() {
  RETURN_IF_ERROR(error_);
  if (gzip_ == nullptr) return Status::OK();
  while (!gzip_->finished()) {
    Result<size_t> n = gzip_->Read(out_.data(), out_.size());
    if (!n.ok()) {
      error_ = n.status();
      return error_;
    }
  }
  if (gzip_->trailing_garbage()) {
    LOG_WARN("tar source {}: ignored trailing data after gzip member {} (at offset {})", path_,
             gzip_->members(), gzip_->total_in());
  }
  return Status::OK();
}

}  // namespace nydus::builder
