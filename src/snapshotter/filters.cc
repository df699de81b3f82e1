// containerd filter expressions (see the header).
#include "snapshotter/filters.h"

#include <cctype>

namespace nydus::snapshotter {

namespace {

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  bool done() const { return pos_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[pos_]; }
  bool Consume(std::string_view tok) {
    if (s_.substr(pos_, tok.size()) != tok) return false;
    pos_ += tok.size();
    return true;
  }
  void SkipSpace() {
    while (!done() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  Status Error(const std::string& what) const {
    return Status::InvalidArgument("filter '" + std::string(s_) + "' at " + std::to_string(pos_) +
                                   ": " + what);
  }
  // "..." with backslash escapes (\" \\ \n \t); the opening quote is next.
  Result<std::string> Quoted(char quote) {
    ++pos_;
    std::string out;
    while (!done() && s_[pos_] != quote) {
      char c = s_[pos_++];
      if (c == '\\' && !done()) {
        char e = s_[pos_++];
        out += e == 'n' ? '\n' : e == 't' ? '\t' : e;
      } else {
        out += c;
      }
    }
    if (done()) return Error("unterminated quoted string");
    ++pos_;
    return out;
  }
  Result<std::string> Field() {
    SkipSpace();
    if (peek() == '"') return Quoted('"');
    size_t start = pos_;
    while (!done() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) {
      ++pos_;
    }
    if (start == pos_) return Error("expected a field name");
    return std::string(s_.substr(start, pos_ - start));
  }
  std::string Bare() {
    size_t start = pos_;
    while (!done() && s_[pos_] != ',') ++pos_;
    std::string v(s_.substr(start, pos_ - start));
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
    return v;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

// The field's value and whether it exists.
bool Lookup(const SnapshotInfo& info, const std::vector<std::string>& path, std::string* out) {
  if (path.size() == 1) {
    if (path[0] == "name")
      *out = info.name;
    else if (path[0] == "parent")
      *out = info.parent;
    else if (path[0] == "kind")
      *out = KindName(info.kind);
    else
      return false;
    return true;
  }
  if (path[0] != "labels") return false;
  std::string key = path[1];
  for (size_t i = 2; i < path.size(); ++i) key += "." + path[i];
  auto it = info.labels.find(key);
  if (it == info.labels.end()) return false;
  *out = it->second;
  return true;
}

}  // namespace

Result<Filter> Filter::Parse(std::string_view expr) {
  Filter f;
  Scanner sc(expr);
  while (true) {
    Term t;
    ASSIGN_OR_RETURN(std::string first, sc.Field());
    t.path.push_back(std::move(first));
    while (sc.Consume(".")) {
      ASSIGN_OR_RETURN(std::string part, sc.Field());
      t.path.push_back(std::move(part));
    }
    sc.SkipSpace();
    if (sc.Consume("=="))
      t.op = Term::kEq;
    else if (sc.Consume("!="))
      t.op = Term::kNe;
    else if (sc.Consume("~="))
      t.op = Term::kRegex;
    if (t.op != Term::kPresent) {
      sc.SkipSpace();
      if (sc.peek() == '"') {
        ASSIGN_OR_RETURN(t.value, sc.Quoted('"'));
      } else if (sc.peek() == '/' && t.op == Term::kRegex) {
        ASSIGN_OR_RETURN(t.value, sc.Quoted('/'));
      } else {
        t.value = sc.Bare();
      }
      if (t.op == Term::kRegex) {
        try {
          t.re = std::make_shared<const std::regex>(t.value);
        } catch (const std::regex_error&) {
          return sc.Error("invalid regular expression '" + t.value + "'");
        }
      }
    }
    f.terms_.push_back(std::move(t));
    sc.SkipSpace();
    if (sc.done()) break;
    if (!sc.Consume(",")) return sc.Error("expected ','");
  }
  return f;
}

bool Filter::Match(const SnapshotInfo& info) const {
  for (const Term& t : terms_) {
    std::string v;
    bool present = Lookup(info, t.path, &v);
    switch (t.op) {
      case Term::kPresent:
        if (!present || v.empty()) return false;
        break;
      case Term::kEq:
        if (!present || v != t.value) return false;
        break;
      case Term::kNe:
        if (present && v == t.value) return false;
        break;
      case Term::kRegex:
        if (!present || !std::regex_search(v, *t.re)) return false;
        break;
    }
  }
  return true;
}

Result<FilterSet> FilterSet::Parse(const std::vector<std::string>& filters) {
  FilterSet set;
  for (const auto& f : filters) {
    if (f.empty()) continue;
    ASSIGN_OR_RETURN(Filter parsed, Filter::Parse(f));
    set.any_.push_back(std::move(parsed));
  }
  return set;
}

bool FilterSet::Match(const SnapshotInfo& info) const {
  if (any_.empty()) return true;
  for (const auto& f : any_) {
    if (f.Match(info)) return true;
  }
  return false;
}

}  // namespace nydus::snapshotter
