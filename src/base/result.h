// Result<T>: either a value of type T or a non-OK Status (the shape of absl::StatusOr).
//
//   Result<Bootstrap> r = LoadBootstrap(bytes);
//   if (!r.ok()) return r.status();
//   Use(*r);
//
// A Result never holds an OK status without a value: constructing one from Status::OK()
// turns it into an Internal error.
#pragma once

#include <cstdlib>
#include <optional>
#include <utility>

#include "base/status.h"

namespace nydus {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(const T& value) : value_(value) {}                    // NOLINT: implicit by design
  Result(T&& value) : value_(std::move(value)) {}              // NOLINT
  Result(Status status) : status_(std::move(status)) {         // NOLINT
    if (status_.ok()) status_ = Status::Internal("Result constructed from OK status");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const& { return status_; }
  Status status() && { return std::move(status_); }

  // REQUIRES: ok().
  T& value() & { Check(); return *value_; }
  const T& value() const& { Check(); return *value_; }
  T&& value() && { Check(); return std::move(*value_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  T value_or(T alt) const& { return ok() ? *value_ : std::move(alt); }

 private:
  void Check() const {
    if (!ok()) std::abort();
  }
  Status status_;
  std::optional<T> value_;
};

}  // namespace nydus

// ASSIGN_OR_RETURN(auto x, Expr()): declares x from the value or returns the error.
#define NYDUS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return std::move(tmp).status();    \
  lhs = std::move(tmp).value()
#define ASSIGN_OR_RETURN(lhs, expr) \
  NYDUS_ASSIGN_OR_RETURN_IMPL(NYDUS_CONCAT(_nydus_r_, __LINE__), lhs, expr)
