// One JSON file per snapshot (see the header).
#include "snapshotter/metadata_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>

#include "base/file_util.h"
#include "base/json.h"
#include "converter/mount.h"

namespace nydus::snapshotter {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status WriteFileAtomic(const std::string& path, const std::string& data, int mode) {
  const std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) return Status::FromErrno(errno, "create " + tmp);
  RETURN_IF_ERROR(WriteFull(fd.get(), data.data(), data.size(), tmp));
  if (::fsync(fd.get()) != 0) return Status::FromErrno(errno, "fsync " + tmp);
  fd.Reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Status::FromErrno(errno, "rename " + tmp);
  std::string dir = path.substr(0, path.rfind('/'));
  UniqueFd dfd(::open(dir.empty() ? "/" : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.valid()) ::fsync(dfd.get());
  return Status::OK();
}

std::string EncodeSnapshotInfo(const SnapshotInfo& info) {
  Json labels = Json::object();
  for (const auto& [k, v] : info.labels) labels[k] = v;
  Json j{{"id", info.id},
         {"name", info.name},
         {"parent", info.parent},
         {"kind", KindName(info.kind)},
         {"labels", labels},
         {"created", info.created_ns},
         {"updated", info.updated_ns}};
  return j.dump(2) + "\n";
}

Result<SnapshotInfo> DecodeSnapshotInfo(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("not a JSON object");
  SnapshotInfo info;
  auto str = [&](const char* key, std::string* out) -> Status {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) {
      return Status::Corruption(std::string("missing or non-string '") + key + "'");
    }
    *out = it->get<std::string>();
    return Status::OK();
  };
  RETURN_IF_ERROR(str("id", &info.id));
  RETURN_IF_ERROR(str("name", &info.name));
  RETURN_IF_ERROR(str("parent", &info.parent));
  std::string kind;
  RETURN_IF_ERROR(str("kind", &kind));
  auto k = ParseKind(kind);
  if (!k.ok()) return Status::Corruption(k.status().message());
  info.kind = *k;
  // At most 19 digits: every id fits a uint64_t (the store parses them).
  if (info.id.empty() || info.id.size() > 19 ||
      info.id.find_first_not_of("0123456789") != std::string::npos) {
    return Status::Corruption("bad id '" + info.id + "'");
  }
  if (info.name.empty()) return Status::Corruption("empty name");
  auto labels = j.find("labels");
  if (labels == j.end() || !labels->is_object()) return Status::Corruption("missing 'labels'");
  for (auto it = labels->begin(); it != labels->end(); ++it) {
    if (!it.value().is_string()) return Status::Corruption("label '" + it.key() + "' not a string");
    info.labels[it.key()] = it.value().get<std::string>();
  }
  for (auto [key, out] : {std::pair{"created", &info.created_ns}, {"updated", &info.updated_ns}}) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) {
      return Status::Corruption(std::string("missing '") + key + "'");
    }
    *out = it->get<int64_t>();
  }
  return info;
}

Result<std::unique_ptr<MetadataStore>> MetadataStore::Open(const std::string& dir) {
  RETURN_IF_ERROR(converter::MakeDirs(dir));
  std::unique_ptr<MetadataStore> store(new MetadataStore(dir));
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Status::FromErrno(errno, "opendir " + dir);
  std::vector<std::string> files;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 5 && n.ends_with(".json")) files.push_back(n);
  }
  ::closedir(d);
  for (const auto& f : files) {
    const std::string path = dir + "/" + f;
    ASSIGN_OR_RETURN(Bytes data, ReadWholeFile(path, 16 << 20));
    auto info = DecodeSnapshotInfo(std::string(data.begin(), data.end()));
    if (!info.ok()) return info.status().WithContext(path);
    if (f != info->id + ".json") return Status::Corruption(path + ": id does not match file name");
    if (store->by_name_.count(info->name)) {
      return Status::Corruption(path + ": duplicate snapshot name '" + info->name + "'");
    }
    store->last_id_ = std::max<uint64_t>(store->last_id_, std::stoull(info->id));
    store->by_name_[info->name] = std::move(*info);
  }
  auto last = ReadWholeFile(dir + "/last_id", 64);
  if (last.ok()) {
    // A damaged last_id is ignored (the ids of the files above still count), never thrown on.
    uint64_t v = 0;
    const char* begin = reinterpret_cast<const char*>(last->data());
    auto [end, ec] = std::from_chars(begin, begin + last->size(), v);
    if (ec == std::errc() && end != begin) store->last_id_ = std::max(store->last_id_, v);
  }
  // Every parent must be known: a missing one means files were lost.
  for (const auto& [name, info] : store->by_name_) {
    if (!info.parent.empty() && !store->by_name_.count(info.parent)) {
      return Status::Corruption(dir + "/" + info.id + ".json: parent '" + info.parent + "' of '" +
                                name + "' is missing");
    }
  }
  return store;
}

const SnapshotInfo* MetadataStore::Find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &it->second;
}

Result<SnapshotInfo> MetadataStore::Get(const std::string& name) const {
  const SnapshotInfo* s = Find(name);
  if (s == nullptr) return Status::NotFound("snapshot '" + name + "' does not exist");
  return *s;
}

std::vector<SnapshotInfo> MetadataStore::List() const {
  std::vector<SnapshotInfo> out;
  for (const auto& [_, info] : by_name_) out.push_back(info);
  std::sort(out.begin(), out.end(), [](const SnapshotInfo& a, const SnapshotInfo& b) {
    return std::stoull(a.id) < std::stoull(b.id);
  });
  return out;
}

bool MetadataStore::HasChildren(const std::string& name) const {
  for (const auto& [_, info] : by_name_) {
    if (info.parent == name) return true;
  }
  return false;
}

Result<std::vector<SnapshotInfo>> MetadataStore::Chain(const std::string& name) const {
  std::vector<SnapshotInfo> out;
  std::string cur = name;
  while (!cur.empty()) {
    const SnapshotInfo* s = Find(cur);
    if (s == nullptr) return Status::NotFound("snapshot '" + cur + "' does not exist");
    if (out.size() > by_name_.size()) return Status::Corruption("parent cycle at '" + cur + "'");
    out.push_back(*s);
    cur = s->parent;
  }
  return out;
}

Result<std::string> MetadataStore::NextId() {
  uint64_t id = last_id_ + 1;
  std::string s = std::to_string(id);
  RETURN_IF_ERROR(WriteFileAtomic(dir_ + "/last_id", s + "\n", 0600));
  last_id_ = id;
  return s;
}

Status MetadataStore::Persist(const SnapshotInfo& info) {
  return WriteFileAtomic(dir_ + "/" + info.id + ".json", EncodeSnapshotInfo(info), 0600);
}

Result<SnapshotInfo> MetadataStore::Create(Kind kind, const std::string& name,
                                           const std::string& parent, const Labels& labels) {
  if (name.empty()) return Status::InvalidArgument("snapshot name is empty");
  if (kind != Kind::kActive && kind != Kind::kView && kind != Kind::kCommitted) {
    return Status::InvalidArgument("cannot create a snapshot of kind " +
                                   std::string(KindName(kind)));
  }
  if (Find(name) != nullptr) return Status::AlreadyExists("snapshot '" + name + "' already exists");
  if (!parent.empty()) {
    const SnapshotInfo* p = Find(parent);
    if (p == nullptr) return Status::NotFound("parent snapshot '" + parent + "' does not exist");
    if (p->kind != Kind::kCommitted) {
      return Status::InvalidArgument("parent '" + parent + "' is not a committed snapshot");
    }
  }
  SnapshotInfo info;
  ASSIGN_OR_RETURN(info.id, NextId());
  info.name = name;
  info.parent = parent;
  info.kind = kind;
  info.labels = labels;
  info.created_ns = info.updated_ns = NowNs();
  RETURN_IF_ERROR(Persist(info));
  by_name_[name] = info;
  return info;
}

Result<SnapshotInfo> MetadataStore::Commit(const std::string& key, const std::string& name,
                                           const Labels& labels) {
  auto it = by_name_.find(key);
  if (it == by_name_.end()) return Status::NotFound("snapshot '" + key + "' does not exist");
  if (it->second.kind != Kind::kActive) {
    return Status::InvalidArgument("snapshot '" + key + "' is not active");
  }
  if (name.empty()) return Status::InvalidArgument("commit name is empty");
  if (Find(name) != nullptr) return Status::AlreadyExists("snapshot '" + name + "' already exists");
  SnapshotInfo info = it->second;
  info.name = name;
  info.kind = Kind::kCommitted;
  for (const auto& [k, v] : labels) info.labels[k] = v;
  info.updated_ns = NowNs();
  // The same id file is rewritten: the old key disappears with the same rename.
  RETURN_IF_ERROR(Persist(info));
  by_name_.erase(it);
  by_name_[name] = info;
  return info;
}

Result<SnapshotInfo> MetadataStore::UpdateLabels(const std::string& name, const Labels& labels,
                                                 const std::vector<std::string>& paths) {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return Status::NotFound("snapshot '" + name + "' does not exist");
  SnapshotInfo info = it->second;
  bool all = paths.empty() || std::find(paths.begin(), paths.end(), "labels") != paths.end();
  if (all) {
    info.labels = labels;
  } else {
    for (const auto& p : paths) {
      if (!p.starts_with("labels.")) {
        return Status::InvalidArgument("cannot update field '" + p + "' of snapshot '" + name +
                                       "'");
      }
      std::string key = p.substr(7);
      auto l = labels.find(key);
      if (l == labels.end())
        info.labels.erase(key);
      else
        info.labels[key] = l->second;
    }
  }
  info.updated_ns = NowNs();
  RETURN_IF_ERROR(Persist(info));
  it->second = info;
  return info;
}

Status MetadataStore::Remove(const std::string& name) {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return Status::NotFound("snapshot '" + name + "' does not exist");
  if (HasChildren(name)) {
    return Status::InvalidArgument("snapshot '" + name + "' has children");
  }
  const std::string path = dir_ + "/" + it->second.id + ".json";
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "remove " + path);
  }
  by_name_.erase(it);
  return Status::OK();
}

}  // namespace nydus::snapshotter
