// ObjectReader and the checks shared by the v1 and v2 parsers.
#include <unistd.h>

#include <algorithm>
#include <limits>

#include "daemon/config_internal.h"

namespace nydus::daemon::internal {

std::string JoinPath(std::string_view parent, std::string_view key) {
  std::string out(parent);
  if (!out.empty()) out += '.';
  out += key;
  return out;
}

const char* DescribeJsonType(const Json& v) {
  switch (v.type()) {
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_unsigned:
      return "an unsigned integer";
    case Json::value_t::number_integer:
      return v.get<int64_t>() < 0 ? "a negative integer" : "an unsigned integer";
    case Json::value_t::number_float:
      return "a floating-point number";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::null:
      return "null";
    default:
      return "an unsupported value";
  }
}

namespace {

Status TypeError(const std::string& path, const char* expected, const Json& found) {
  return Status::InvalidArgument("key '" + path + "': expected " + expected + ", found " +
                                 DescribeJsonType(found));
}

}  // namespace

Result<ObjectReader> ObjectReader::Open(const Json& value, std::string path,
                                        std::initializer_list<std::string_view> known) {
  if (!value.is_object()) {
    if (path.empty()) {
      return Status::InvalidArgument(std::string("expected an object at the top level, found ") +
                                     DescribeJsonType(value));
    }
    return TypeError(path, "an object", value);
  }
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
      return Status::InvalidArgument("unknown key '" + JoinPath(path, it.key()) + "'");
    }
  }
  return ObjectReader(&value, std::move(path));
}

const Json* ObjectReader::Find(std::string_view key) const {
  auto it = obj_->find(std::string(key));
  return it == obj_->end() ? nullptr : &*it;
}

bool ObjectReader::IsAbsentOrNull(std::string_view key) const {
  const Json* v = Find(key);
  return v == nullptr || v->is_null();
}

Status ObjectReader::Require(std::string_view key) const {
  if (Find(key) == nullptr) return Status::InvalidArgument("missing key '" + PathOf(key) + "'");
  return Status::OK();
}

Status ObjectReader::GetString(std::string_view key, std::string* out) const {
  const Json* v = Find(key);
  if (v == nullptr) return Status::OK();
  if (!v->is_string()) return TypeError(PathOf(key), "a string", *v);
  *out = v->get<std::string>();
  return Status::OK();
}

Status ObjectReader::GetBool(std::string_view key, bool* out) const {
  const Json* v = Find(key);
  if (v == nullptr) return Status::OK();
  if (!v->is_boolean()) return TypeError(PathOf(key), "a boolean", *v);
  *out = v->get<bool>();
  return Status::OK();
}

Status ObjectReader::GetUint(std::string_view key, uint64_t max, uint64_t* out) const {
  const Json* v = Find(key);
  if (v == nullptr) return Status::OK();
  const bool non_negative =
      v->is_number_unsigned() || (v->is_number_integer() && v->get<int64_t>() >= 0);
  if (!non_negative) return TypeError(PathOf(key), "an unsigned integer", *v);
  uint64_t n = v->get<uint64_t>();
  if (n > max) {
    return Status::InvalidArgument("key '" + PathOf(key) + "': " + std::to_string(n) +
                                   " is out of range (at most " + std::to_string(max) + ")");
  }
  *out = n;
  return Status::OK();
}

Status ObjectReader::GetUint32(std::string_view key, uint32_t* out) const {
  uint64_t n = *out;
  RETURN_IF_ERROR(GetUint(key, std::numeric_limits<uint32_t>::max(), &n));
  *out = static_cast<uint32_t>(n);
  return Status::OK();
}

Status ObjectReader::GetStringArray(std::string_view key, std::vector<std::string>* out) const {
  const Json* v = Find(key);
  if (v == nullptr) return Status::OK();
  if (!v->is_array()) return TypeError(PathOf(key), "an array of strings", *v);
  std::vector<std::string> items;
  for (size_t i = 0; i < v->size(); ++i) {
    const Json& e = (*v)[i];
    if (!e.is_string()) {
      return TypeError(PathOf(key) + "[" + std::to_string(i) + "]", "a string", e);
    }
    items.push_back(e.get<std::string>());
  }
  *out = std::move(items);
  return Status::OK();
}

// ---------------------------------------------------------------- shared parts

Result<LocalfsBackendConfig> ParseLocalfs(const Json& value, const std::string& path) {
  ASSIGN_OR_RETURN(ObjectReader r, ObjectReader::Open(value, path,
                                                      {"blob_file", "dir", "alt_dirs", "readahead",
                                                       "readahead_sec"}));
  LocalfsBackendConfig c;
  RETURN_IF_ERROR(r.GetString("blob_file", &c.blob_file));
  RETURN_IF_ERROR(r.GetString("dir", &c.dir));
  RETURN_IF_ERROR(r.GetStringArray("alt_dirs", &c.alt_dirs));
  RETURN_IF_ERROR(r.GetBool("readahead", &c.readahead));
  RETURN_IF_ERROR(
      r.GetUint("readahead_sec", std::numeric_limits<uint32_t>::max(), &c.readahead_sec));
  if (c.dir.empty() && c.blob_file.empty()) {
    return Status::InvalidArgument("'" + path + "': localfs needs 'dir' or 'blob_file'");
  }
  return c;
}

Status CheckRawBackend(const std::string& type, const Json& raw, const std::string& path) {
  if (!raw.is_object()) return TypeError(path, "an object", raw);
  // BackendConfigV2::validate(): these fields must be present and non-empty.
  std::vector<const char*> required;
  if (type == "registry") required = {"host", "repo"};
  if (type == "oss") required = {"endpoint", "bucket_name"};
  if (type == "s3") required = {"region", "bucket_name"};
  if (type == "localdisk") required = {"device_path"};
  if (type == "http-proxy") required = {"addr"};
  for (const char* key : required) {
    auto it = raw.find(key);
    if (it == raw.end() || !it->is_string() || it->get<std::string>().empty()) {
      return Status::InvalidArgument("'" + path + "': the " + type +
                                     " backend needs a non-empty '" + key + "'");
    }
  }
  if (type == "http-proxy") {
    // An http(s) URL or the absolute path of an existing unix socket.
    std::string addr = raw["addr"].get<std::string>();
    bool url = addr.starts_with("http://") || addr.starts_with("https://");
    if (!url && !(addr.starts_with("/") && ::access(addr.c_str(), F_OK) == 0)) {
      return Status::InvalidArgument("key '" + JoinPath(path, "addr") +
                                     "': must be an http(s):// URL or an existing socket path");
    }
  }
  return Status::OK();
}

Status ParseCacheDir(const Json& value, const std::string& path, bool filecache, CacheConfig* out) {
  Result<ObjectReader> opened =
      filecache ? ObjectReader::Open(value, path, {"work_dir", "disable_indexed_map"})
                : ObjectReader::Open(value, path, {"work_dir"});
  if (!opened.ok()) return opened.status();
  const ObjectReader& r = *opened;
  out->work_dir = ".";
  RETURN_IF_ERROR(r.GetString("work_dir", &out->work_dir));
  if (filecache) RETURN_IF_ERROR(r.GetBool("disable_indexed_map", &out->disable_indexed_map));
  if (out->work_dir.empty()) {
    return Status::InvalidArgument("key '" + r.PathOf("work_dir") + "': must not be empty");
  }
  return Status::OK();
}

Status CheckRafsMode(const std::string& mode, const std::string& path) {
  if (mode == "direct" || mode == "cached") return Status::OK();
  return Status::InvalidArgument("key '" + path + "': must be \"direct\" or \"cached\", found \"" +
                                 mode + "\"");
}

Status CheckBatchSize(uint64_t size, const std::string& path) {
  if (size <= kMaxBatchSize) return Status::OK();
  return Status::InvalidArgument("key '" + path + "': " + std::to_string(size) +
                                 " exceeds the maximum 0x10000000");
}

Status CheckPrefetch(const PrefetchConfig& p, const std::string& threads_path,
                     const std::string& batch_path) {
  if (!p.enable) return Status::OK();
  RETURN_IF_ERROR(CheckBatchSize(p.batch_size, batch_path));
  if (p.threads == 0 || p.threads > 1024) {
    return Status::InvalidArgument("key '" + threads_path + "': " + std::to_string(p.threads) +
                                   " is out of range (1 to 1024 when prefetch is enabled)");
  }
  return Status::OK();
}

}  // namespace nydus::daemon::internal
