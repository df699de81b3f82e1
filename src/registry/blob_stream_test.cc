// BlobStreamUpload against the in-process fake registry: pieces go out while bytes arrive,
// the commit checks the digest, upload errors surface at Commit, Cancel deletes the session.
#include "registry/blob_stream.h"

#include <gtest/gtest.h>

#include "registry/registry_test_util.h"
#include "testing/test_util.h"

namespace nydus::registry {
namespace {

using testing::Client;
using testing::FakeRegistry;
using testing::Sha;

std::string Data(size_t n) {
  std::string d(n, '\0');
  for (size_t i = 0; i < n; ++i) d[i] = static_cast<char>(i * 31 + 7);
  return d;
}

// Appends `data` in uneven slices.
void AppendAll(BlobStreamUpload& up, const std::string& data) {
  size_t step = 1;
  for (size_t off = 0; off < data.size(); off += step, step = step * 3 % 997 + 1) {
    const size_t n = std::min(step, data.size() - off);
    up.Append(ByteSpan(reinterpret_cast<const uint8_t*>(data.data()) + off, n));
  }
}

TEST(BlobStreamUploadTest, SendsFullPiecesThenCommits) {
  FakeRegistry reg;
  auto c = Client(reg);
  const std::string data = Data(3500);
  ASSERT_OK_AND_ASSIGN(auto up, BlobStreamUpload::Start(c.get(), "blob", /*piece_size=*/1000, 1));
  AppendAll(*up, data);
  EXPECT_EQ(up->bytes_appended(), data.size());
  ASSERT_OK(up->Commit(Sha(data)));
  EXPECT_EQ(reg.patches.load(), 4);  // three full pieces, the rest at Commit
  EXPECT_EQ(reg.blobs[Sha(data)], data);
  EXPECT_EQ(reg.deletes.load(), 0);
}

TEST(BlobStreamUploadTest, EmptyAndExactPieces) {
  FakeRegistry reg;
  auto c = Client(reg);
  ASSERT_OK_AND_ASSIGN(auto empty, BlobStreamUpload::Start(c.get(), "empty", 1000, 2));
  ASSERT_OK(empty->Commit(Sha("")));
  EXPECT_EQ(reg.patches.load(), 0);
  const std::string data = Data(2000);
  ASSERT_OK_AND_ASSIGN(auto up, BlobStreamUpload::Start(c.get(), "blob", 1000, 2));
  AppendAll(*up, data);
  ASSERT_OK(up->Commit(Sha(data)));
  EXPECT_EQ(reg.patches.load(), 2);
  EXPECT_EQ(reg.blobs[Sha(data)], data);
}

TEST(BlobStreamUploadTest, WrongDigestIsRefused) {
  FakeRegistry reg;
  auto c = Client(reg);
  const std::string data = Data(1500);
  ASSERT_OK_AND_ASSIGN(auto up, BlobStreamUpload::Start(c.get(), "blob", 1000, 2));
  AppendAll(*up, data);
  EXPECT_FALSE(up->Commit(Sha("something else")).ok());
  EXPECT_TRUE(reg.blobs.empty());
  EXPECT_EQ(reg.deletes.load(), 1);  // the session is given up
}

// A failed PATCH neither blocks the producer nor fails Append; Commit reports it.
TEST(BlobStreamUploadTest, UploadErrorSurfacesAtCommit) {
  FakeRegistry reg;
  reg.fail_patches = true;
  auto c = Client(reg);
  const std::string data = Data(10000);
  ASSERT_OK_AND_ASSIGN(auto up, BlobStreamUpload::Start(c.get(), "blob", 1000, 1));
  AppendAll(*up, data);
  Status st = up->Commit(Sha(data));
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_TRUE(reg.blobs.empty());
  EXPECT_EQ(reg.deletes.load(), 1);
}

TEST(BlobStreamUploadTest, CancelAndDestructorDeleteTheSession) {
  FakeRegistry reg;
  auto c = Client(reg);
  {
    ASSERT_OK_AND_ASSIGN(auto up, BlobStreamUpload::Start(c.get(), "blob", 1000, 2));
    AppendAll(*up, Data(2500));
    up->Cancel();
    AppendAll(*up, Data(5000));  // ignored, and never waits for the sender
    EXPECT_EQ(up->bytes_appended(), 2500u);
    EXPECT_FALSE(up->Commit(Sha("x")).ok());  // already finished
  }
  EXPECT_EQ(reg.deletes.load(), 1);
  {
    ASSERT_OK_AND_ASSIGN(auto up, BlobStreamUpload::Start(c.get(), "blob", 1000, 2));
    AppendAll(*up, Data(500));
  }
  EXPECT_EQ(reg.deletes.load(), 2);
  EXPECT_TRUE(reg.blobs.empty());
}

}  // namespace
}  // namespace nydus::registry
