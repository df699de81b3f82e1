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
    if (key == "root") {
      RETURN_IF_ERROR(GetString(node, key, &cfg->root));
    } else if (key == "address") {
      RETURN_IF_ERROR(GetString(node, key, &cfg->address));
    } else if (key == "version") {
      auto v = node.value<int64_t>();
      if (!v || *v != 1) return WrongType(key, "1");
    } else if (key == "daemon" || key == "log") {
      const toml::table* sub = node.as_table();
      if (sub == nullptr) return WrongType(key, "a table");
      for (const auto& [sk, sn] : *sub) {
        const std::string skey = key + "." + std::string(sk.str());
        if (skey == "daemon.nydusd_path") {
          RETURN_IF_ERROR(GetString(sn, skey, &cfg->nydusd_path));
        } else if (skey == "daemon.nydusd_config") {
          RETURN_IF_ERROR(GetString(sn, skey, &cfg->nydusd_config));
        } else if (skey == "daemon.threads_number") {
          auto v = sn.value<int64_t>();
          if (!v || *v < 0 || *v > 1024) return WrongType(skey, "an integer in [0, 1024]");
          cfg->threads_number = static_cast<int>(*v);
        } else if (skey == "log.level") {
          RETURN_IF_ERROR(GetString(sn, skey, &cfg->log_level));
        } else {
          cfg->warnings.push_back(skey);
        }
      }
    } else {
      cfg->warnings.push_back(key);
    }
  }
  return Status::OK();
}

}  // namespace nydus::snapshotter
