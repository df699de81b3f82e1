// containerd filter expressions over snapshot infos, as containerd sends them to List (Walk).
//
//   filter  := term ("," term)*            every term must match
//   term    := selector [op value]         no op: the field is present and not empty
//   selector:= field ("." field)*          field: [A-Za-z0-9_]+ or a "quoted string"
//   op      := "==" | "!=" | "~="          ~= is a regular expression search (ECMAScript)
//   value   := "quoted string" | /regexp/ | bare text up to the next ","
// Fields: name, parent, kind (view|active|committed), labels.<key>. A list of filters matches
// when any one does; an empty list matches everything. containerd's metadata store itself
// walks with `labels."containerd.io/snapshot.ref"==<chain id>,parent=="<parent>"`.
// Thread-safety: a parsed Filter is immutable.
#pragma once

#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "snapshotter/snapshot_info.h"

namespace nydus::snapshotter {

class Filter {
 public:
  static Result<Filter> Parse(std::string_view expr);
  bool Match(const SnapshotInfo& info) const;

  struct Term {
    std::vector<std::string> path;  // {"labels", "containerd.io/snapshot.ref"}
    enum Op { kPresent, kEq, kNe, kRegex } op = kPresent;
    std::string value;
    std::shared_ptr<const std::regex> re;  // kRegex: `value` compiled once, at Parse
  };
  const std::vector<Term>& terms() const { return terms_; }

 private:
  std::vector<Term> terms_;
};

// Any of `filters` matches (all when empty).
class FilterSet {
 public:
  static Result<FilterSet> Parse(const std::vector<std::string>& filters);
  bool Match(const SnapshotInfo& info) const;

 private:
  std::vector<Filter> any_;
};

}  // namespace nydus::snapshotter
