// containerd.services.snapshots.v1.Snapshots over a Snapshotter, and the server that serves it
// on a unix socket (what containerd's proxy_plugins entry points at).
// Errors map to the gRPC codes containerd's errdefs.FromGRPC understands: NotFound, AlreadyExists,
// InvalidArgument, FailedPrecondition (removing a snapshot with children), Unimplemented,
// Unavailable, PermissionDenied; anything else is Unknown.
// Thread-safety: gRPC calls the service from its own threads; the Snapshotter locks.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "snapshotter/snapshotter.h"

namespace grpc {
class Server;
class Service;
}  // namespace grpc

namespace nydus::snapshotter {

class GrpcServer {
 public:
  // Listens on unix socket `address` (a stale socket file is replaced; the directory is created).
  static Result<std::unique_ptr<GrpcServer>> Start(const std::string& address,
                                                   Snapshotter* snapshotter);
  ~GrpcServer();
  // Blocks until Shutdown().
  void Wait();
  void Shutdown();

 private:
  GrpcServer() = default;
  std::unique_ptr<grpc::Service> service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace nydus::snapshotter
