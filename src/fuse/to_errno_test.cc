#include "fuse/to_errno.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace nydus::fuse {
namespace {

TEST(ToErrnoTest, MapsEveryCode) {
  EXPECT_EQ(ToErrno(Status::OK()), 0);
  EXPECT_EQ(ToErrno(Status::NotFound("x")), ENOENT);
  EXPECT_EQ(ToErrno(Status::InvalidArgument("x")), EINVAL);
  EXPECT_EQ(ToErrno(Status::NotSupported("x")), EOPNOTSUPP);
  EXPECT_EQ(ToErrno(Status::PermissionDenied("x")), EACCES);
  EXPECT_EQ(ToErrno(Status::AlreadyExists("x")), EEXIST);
  EXPECT_EQ(ToErrno(Status::OutOfRange("x")), ERANGE);
  EXPECT_EQ(ToErrno(Status::Corruption("x")), EIO);
  EXPECT_EQ(ToErrno(Status::IOError("x")), EIO);
  EXPECT_EQ(ToErrno(Status::Unavailable("x")), EIO);
  EXPECT_EQ(ToErrno(Status::Internal("x")), EIO);
  // Context added on the way up does not change the mapping.
  EXPECT_EQ(ToErrno(Status::NotFound("x").WithContext("fs")), ENOENT);
}

}  // namespace
}  // namespace nydus::fuse
