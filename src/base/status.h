// Status: the one error vocabulary of nydus-cpp.
//
// A Status is either OK or carries a code and a human-readable message with context
// ("bootstrap: inode 12: chunk index 7 out of range"). OK costs one pointer test.
// Functions that produce a value return Result<T> (result.h). Exceptions never cross a
// module boundary; errno appears only at the FUSE edge (see ToErrno in fuse/).
// Thread-safety: a Status is a value type; distinct objects may be used concurrently.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace nydus {

enum class StatusCode : int {
  kOk = 0,
  kNotFound = 1,
  kCorruption = 2,
  kIOError = 3,
  kInvalidArgument = 4,
  kNotSupported = 5,
  kUnavailable = 6,
  kAlreadyExists = 7,
  kPermissionDenied = 8,
  kOutOfRange = 9,
  kInternal = 10,
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string_view msg);
  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) { return Status(StatusCode::kNotFound, msg); }
  static Status Corruption(std::string_view msg) { return Status(StatusCode::kCorruption, msg); }
  static Status IOError(std::string_view msg) { return Status(StatusCode::kIOError, msg); }
  static Status InvalidArgument(std::string_view msg) {
    return Status(StatusCode::kInvalidArgument, msg);
  }
  static Status NotSupported(std::string_view msg) {
    return Status(StatusCode::kNotSupported, msg);
  }
  static Status Unavailable(std::string_view msg) { return Status(StatusCode::kUnavailable, msg); }
  static Status AlreadyExists(std::string_view msg) {
    return Status(StatusCode::kAlreadyExists, msg);
  }
  static Status PermissionDenied(std::string_view msg) {
    return Status(StatusCode::kPermissionDenied, msg);
  }
  static Status OutOfRange(std::string_view msg) { return Status(StatusCode::kOutOfRange, msg); }
  static Status Internal(std::string_view msg) { return Status(StatusCode::kInternal, msg); }
  // An IOError built from errno: "<context>: <strerror(err)>".
  static Status FromErrno(int err, std::string_view context);

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  // The message without the code name; empty for OK.
  const std::string& message() const;
  // "Corruption: <message>", or "OK".
  std::string ToString() const;
  // Returns a copy whose message is "<context>: <message>". OK stays OK.
  Status WithContext(std::string_view context) const;

 private:
  struct Rep {
    StatusCode code;
    std::string msg;
  };
  std::unique_ptr<Rep> rep_;
};

const char* StatusCodeName(StatusCode code);

}  // namespace nydus

#define NYDUS_CONCAT_INNER(a, b) a##b
#define NYDUS_CONCAT(a, b) NYDUS_CONCAT_INNER(a, b)

// Evaluates `expr` (a Status); returns it from the enclosing function if not OK.
#define RETURN_IF_ERROR(expr)                      \
  do {                                             \
    ::nydus::Status _nydus_st = (expr);            \
    if (!_nydus_st.ok()) return _nydus_st;         \
  } while (0)
