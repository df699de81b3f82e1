// The snapshots gRPC service (see the header).
#include "snapshotter/grpc_service.h"

#include <grpcpp/grpcpp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/logging.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "converter/mount.h"

namespace nydus::snapshotter {

namespace pb = ::containerd::services::snapshots::v1;

namespace {

grpc::Status ToGrpc(const Status& st) {
  if (st.ok()) return grpc::Status::OK;
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  switch (st.code()) {
    case StatusCode::kNotFound:
      code = grpc::StatusCode::NOT_FOUND;
      break;
    case StatusCode::kAlreadyExists:
      code = grpc::StatusCode::ALREADY_EXISTS;
      break;
    case StatusCode::kInvalidArgument:
      code = grpc::StatusCode::INVALID_ARGUMENT;
      break;
    case StatusCode::kNotSupported:
      code = grpc::StatusCode::UNIMPLEMENTED;
      break;
    case StatusCode::kUnavailable:
      code = grpc::StatusCode::UNAVAILABLE;
      break;
    case StatusCode::kPermissionDenied:
      code = grpc::StatusCode::PERMISSION_DENIED;
      break;
    default:
      break;
  }
  return grpc::Status(code, st.message());
}

Labels ToLabels(const google::protobuf::Map<std::string, std::string>& m) {
  return Labels(m.begin(), m.end());
}

void ToProto(const std::vector<MountSpec>& mounts,
             google::protobuf::RepeatedPtrField<::containerd::types::Mount>* out) {
  for (const auto& m : mounts) {
    auto* pm = out->Add();
    pm->set_type(m.type);
    pm->set_source(m.source);
    for (const auto& o : m.options) pm->add_options(o);
  }
}

void SetTime(int64_t ns, google::protobuf::Timestamp* ts) {
  ts->set_seconds(ns / 1000000000);
  ts->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

void ToProto(const SnapshotInfo& info, pb::Info* out) {
  out->set_name(info.name);
  out->set_parent(info.parent);
  out->set_kind(static_cast<pb::Kind>(static_cast<int>(info.kind)));
  SetTime(info.created_ns, out->mutable_created_at());
  SetTime(info.updated_ns, out->mutable_updated_at());
  for (const auto& [k, v] : info.labels) (*out->mutable_labels())[k] = v;
}

class SnapshotsService final : public pb::Snapshots::Service {
 public:
  explicit SnapshotsService(Snapshotter* s) : s_(s) {}

  grpc::Status Prepare(grpc::ServerContext*, const pb::PrepareSnapshotRequest* req,
                       pb::PrepareSnapshotResponse* resp) override {
    LOG_DEBUG("Prepare key={} parent={} labels={}", req->key(), req->parent(), req->labels_size());
    return Answer("Prepare " + req->key(),
                  s_->Prepare(req->key(), req->parent(), ToLabels(req->labels())), resp);
  }

  grpc::Status View(grpc::ServerContext*, const pb::ViewSnapshotRequest* req,
                    pb::ViewSnapshotResponse* resp) override {
    return Answer("View " + req->key(),
                  s_->View(req->key(), req->parent(), ToLabels(req->labels())), resp);
  }

  grpc::Status Mounts(grpc::ServerContext*, const pb::MountsRequest* req,
                      pb::MountsResponse* resp) override {
    return Answer("Mounts " + req->key(), s_->Mounts(req->key()), resp);
  }

  grpc::Status Commit(grpc::ServerContext*, const pb::CommitSnapshotRequest* req,
                      google::protobuf::Empty*) override {
    LOG_DEBUG("Commit key={} name={}", req->key(), req->name());
    return Answer("Commit " + req->key(),
                  s_->Commit(req->name(), req->key(), ToLabels(req->labels())));
  }

  grpc::Status Remove(grpc::ServerContext*, const pb::RemoveSnapshotRequest* req,
                      google::protobuf::Empty*) override {
    LOG_DEBUG("Remove key={}", req->key());
    if (s_->HasChildren(req->key())) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "cannot remove snapshot '" + req->key() + "' with children");
    }
    return Answer("Remove " + req->key(), s_->Remove(req->key()));
  }

  grpc::Status Stat(grpc::ServerContext*, const pb::StatSnapshotRequest* req,
                    pb::StatSnapshotResponse* resp) override {
    auto r = s_->Stat(req->key());
    if (!r.ok()) return ToGrpc(r.status());  // NotFound is the common answer: not logged
    ToProto(*r, resp->mutable_info());
    return grpc::Status::OK;
  }

  grpc::Status Update(grpc::ServerContext*, const pb::UpdateSnapshotRequest* req,
                      pb::UpdateSnapshotResponse* resp) override {
    std::vector<std::string> paths(req->update_mask().paths().begin(),
                                   req->update_mask().paths().end());
    auto r = s_->Update(req->info().name(), ToLabels(req->info().labels()), paths);
    if (!r.ok()) return Fail("Update " + req->info().name(), r.status());
    ToProto(*r, resp->mutable_info());
    return grpc::Status::OK;
  }

  grpc::Status List(grpc::ServerContext*, const pb::ListSnapshotsRequest* req,
                    grpc::ServerWriter<pb::ListSnapshotsResponse>* writer) override {
    std::vector<std::string> filters(req->filters().begin(), req->filters().end());
    auto r = s_->List(filters);
    if (!r.ok()) return Fail("List", r.status());
    // Batches, like containerd's own proxy server, to stay under message size limits.
    constexpr size_t kBatch = 100;
    for (size_t i = 0; i < r->size(); i += kBatch) {
      pb::ListSnapshotsResponse resp;
      for (size_t j = i; j < std::min(r->size(), i + kBatch); ++j)
        ToProto((*r)[j], resp.add_info());
      if (!writer->Write(resp)) break;
    }
    return grpc::Status::OK;
  }

  grpc::Status Usage(grpc::ServerContext*, const pb::UsageRequest* req,
                     pb::UsageResponse* resp) override {
    auto r = s_->Usage(req->key());
    if (!r.ok()) return Fail("Usage " + req->key(), r.status());
    resp->set_size(r->size);
    resp->set_inodes(r->inodes);
    return grpc::Status::OK;
  }

  grpc::Status Cleanup(grpc::ServerContext*, const pb::CleanupRequest*,
                       google::protobuf::Empty*) override {
    return Answer("Cleanup", s_->Cleanup());
  }

 private:
  // The answer of a call that returns mounts (Prepare, View, Mounts).
  template <typename Resp>
  static grpc::Status Answer(const std::string& what, const Result<std::vector<MountSpec>>& r,
                             Resp* resp) {
    if (!r.ok()) return Fail(what, r.status());
    ToProto(*r, resp->mutable_mounts());
    return grpc::Status::OK;
  }
  // The answer of a call that returns nothing (Commit, Remove, Cleanup).
  static grpc::Status Answer(const std::string& what, const Status& st) {
    return st.ok() ? grpc::Status::OK : Fail(what, st);
  }

  static grpc::Status Fail(const std::string& what, const Status& st) {
    if (st.code() == StatusCode::kAlreadyExists || st.code() == StatusCode::kNotFound) {
      LOG_DEBUG("{}: {}", what, st.ToString());
    } else {
      LOG_ERROR("{}: {}", what, st.ToString());
    }
    return ToGrpc(st);
  }

  Snapshotter* s_;
};

}  // namespace

Result<std::unique_ptr<GrpcServer>> GrpcServer::Start(const std::string& address,
                                                      Snapshotter* snapshotter) {
  auto slash = address.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    RETURN_IF_ERROR(converter::MakeDirs(address.substr(0, slash)));
  }
  if (::unlink(address.c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "remove stale socket " + address);
  }
  std::unique_ptr<GrpcServer> s(new GrpcServer());
  s->service_ = std::make_unique<SnapshotsService>(snapshotter);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + address, grpc::InsecureServerCredentials());
  builder.RegisterService(s->service_.get());
  builder.SetMaxReceiveMessageSize(16 << 20);
  s->server_ = builder.BuildAndStart();
  if (!s->server_) return Status::Unavailable("cannot serve gRPC on unix socket " + address);
  ::chmod(address.c_str(), 0600);
  return s;
}

GrpcServer::~GrpcServer() {
  if (server_) server_->Shutdown();
}

void GrpcServer::Wait() { server_->Wait(); }

void GrpcServer::Shutdown() { server_->Shutdown(); }

}  // namespace nydus::snapshotter
