// Test-only: an in-process fake of the distribution API for repository "r" (uploads with
// POST/PATCH/PUT/DELETE, blobs, manifests, optional bearer auth) and a client for it.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/digest.h"
#include "http/http_test_server.h"
#include "registry/registry_push.h"

namespace nydus::registry::testing {

using http::testing::TestHttpServer;
using http::testing::TestRequest;
using http::testing::TestResponse;

inline std::string Sha(const std::string& s) { return "sha256:" + DigestHex(Sha256(AsBytes(s))); }

// A minimal distribution server for repo "r": uploads, blobs, manifests; optional bearer auth.
class FakeRegistry {
 public:
  explicit FakeRegistry(bool bearer = false)
      : bearer_(bearer), server_([this](const TestRequest& r) { return Handle(r); }) {}
  std::string host() const { return server_.host(); }
  std::map<std::string, std::string> blobs;
  std::map<std::string, std::string> manifests;
  std::atomic<int> patches{0};
  std::atomic<int> deletes{0};
  std::atomic<bool> fail_patches{false};  // answer PATCH with 500

 private:
  TestResponse Handle(const TestRequest& r) {
    std::lock_guard<std::mutex> lock(mu_);
    std::string path = r.Path();
    if (path == "/token") return {200, {}, R"({"token":"tok"})"};
    if (bearer_ && r.Header("authorization") != "Bearer tok") {
      return {401,
              {{"WWW-Authenticate", "Bearer realm=\"http://" + host() +
                                        "/token\",service=\"fake\",scope=\"repository:r:pull\""}},
              ""};
    }
    const std::string base = "/v2/r";
    if (r.method == "POST" && path == base + "/blobs/uploads/") {
      uploads_[++next_] = "";
      return {202, {{"Location", base + "/blobs/uploads/" + std::to_string(next_)}}, ""};
    }
    if (r.method == "GET" && path == base + "/tags/list") {
      if (manifests.empty()) return {404, {}, R"({"errors":[{"code":"NAME_UNKNOWN"}]})"};
      std::string list;
      for (const auto& [ref, body] : manifests) {
        if (ref.starts_with("sha256:")) continue;
        list += (list.empty() ? "\"" : ",\"") + ref + "\"";
      }
      return {200, {}, R"({"name":"r","tags":[)" + list + "]}"};
    }
    if (path.starts_with(base + "/blobs/uploads/")) {
      int id = std::stoi(path.substr(base.size() + 15));
      if (r.method == "DELETE") {
        ++deletes;
        uploads_.erase(id);
        return {204, {}, ""};
      }
      if (r.method == "PATCH") {
        if (fail_patches) return {500, {}, ""};
        ++patches;
        uploads_[id] += r.body;
        return {202, {{"Location", base + "/blobs/uploads/" + std::to_string(id)}}, ""};
      }
      if (r.method == "PUT") {
        std::string data = uploads_[id] + r.body;
        std::string digest = r.target.substr(r.target.find("digest=") + 7);
        digest.replace(digest.find("%3A"), 3, ":");
        if (Sha(data) != digest) return {400, {}, R"({"errors":[{"code":"DIGEST_INVALID"}]})"};
        blobs[digest] = data;
        return {201, {}, ""};
      }
    }
    if (path.starts_with(base + "/blobs/")) {
      auto it = blobs.find(path.substr(base.size() + 7));
      if (it == blobs.end()) return {404, {}, ""};
      TestResponse resp{200, {}, it->second};
      return resp;
    }
    if (path.starts_with(base + "/manifests/")) {
      std::string ref = path.substr(base.size() + 11);
      if (r.method == "PUT") {
        manifests[ref] = r.body;
        return {201, {{"Docker-Content-Digest", Sha(r.body)}}, ""};
      }
      auto it = manifests.find(ref);
      if (it == manifests.end()) return {404, {}, ""};
      if (r.Header("accept").find("application/vnd.oci.image.manifest.v1+json") ==
          std::string::npos) {
        return {406, {}, ""};
      }
      return {200, {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}}, it->second};
    }
    return {404, {}, ""};
  }

  bool bearer_;
  std::mutex mu_;
  std::map<int, std::string> uploads_;
  int next_ = 0;
  TestHttpServer server_;
};

inline std::unique_ptr<RepoClient> Client(const FakeRegistry& reg) {
  RepoClientOptions o;
  o.host = reg.host();
  o.repo = "r";
  o.insecure = true;
  auto c = RepoClient::Create(o);
  EXPECT_TRUE(c.ok());
  return std::move(*c);
}

}  // namespace nydus::registry::testing
