// containerd-nydus-grpc's TOML configuration (see the header). toml++ exceptions stay here.
#include "snapshotter/config.h"

#include <toml++/toml.h>

#include <sstream>

namespace nydus::snapshotter {

namespace {

Status WrongType(const std::string& key, const char* want) {
  return Status::InvalidArgument("config key '" + key + "' must be " + want);
}

Status GetString(const toml::node& n, const std::string& key, std::string* out) {
  auto v = n.value<std::string>();
  if (!v) return WrongType(key, "a string");
  *out = *v;
  return Status::OK();
}

// One key by its dotted name ("root", "daemon.nydusd_path"); unknown ones become warnings.
Status ApplyKey(const std::string& key, const toml::node& n, SnapshotterConfig* cfg) {
  if (key == "root") return GetString(n, key, &cfg->root);
  if (key == "address") return GetString(n, key, &cfg->address);
  if (key == "daemon.nydusd_path") return GetString(n, key, &cfg->nydusd_path);
  if (key == "daemon.nydusd_config") return GetString(n, key, &cfg->nydusd_config);
  if (key == "log.level") return GetString(n, key, &cfg->log_level);
  if (key == "daemon.erofs_when_cached") {
    const toml::value<bool>* v = n.as_boolean();  // value<bool>() would take 1 or 0 too
    if (v == nullptr) return WrongType(key, "a boolean");
    cfg->erofs_when_cached = v->get();
    return Status::OK();
  }
  if (key == "version") {
    auto v = n.value<int64_t>();
    return v && *v == 1 ? Status::OK() : WrongType(key, "1");
  }
  if (key == "daemon.threads_number") {
    auto v = n.value<int64_t>();
    if (!v || *v < 0 || *v > 1024) return WrongType(key, "an integer in [0, 1024]");
    cfg->threads_number = static_cast<int>(*v);
    return Status::OK();
  }
  cfg->warnings.push_back(key);
  return Status::OK();
}

}  // namespace

Status ApplyConfigToml(const std::string& text, SnapshotterConfig* cfg) {
  toml::table table;
  try {
    table = toml::parse(text);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << "invalid TOML at line " << e.source().begin.line << ", column "
        << e.source().begin.column << ": " << e.description();
    return Status::InvalidArgument(msg.str());
  }
  for (const auto& [k, node] : table) {
    const std::string key(k.str());
    if (key != "daemon" && key != "log") {
      RETURN_IF_ERROR(ApplyKey(key, node, cfg));
      continue;
    }
    const toml::table* sub = node.as_table();
    if (sub == nullptr) return WrongType(key, "a table");
    for (const auto& [sk, sn] : *sub) {
      RETURN_IF_ERROR(ApplyKey(key + "." + std::string(sk.str()), sn, cfg));
    }
  }
  return Status::OK();
}

}  // namespace nydus::snapshotter
