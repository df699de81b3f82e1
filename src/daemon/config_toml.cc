// TOML v2 configuration → JSON value, so one schema reader serves both v2 syntaxes.
// toml++ is the only TOML library user; its exceptions stay inside this file.
#include <toml++/toml.h>

#include <sstream>

#include "daemon/config_internal.h"

namespace nydus::daemon::internal {
namespace {

Result<Json> NodeToJson(const toml::node& node, const std::string& path) {
  switch (node.type()) {
    case toml::node_type::table: {
      Json obj = Json::object();
      for (const auto& [key, child] : *node.as_table()) {
        std::string child_path = JoinPath(path, key.str());
        ASSIGN_OR_RETURN(Json v, NodeToJson(child, child_path));
        obj[std::string(key.str())] = std::move(v);
      }
      return obj;
    }
    case toml::node_type::array: {
      Json arr = Json::array();
      const toml::array& a = *node.as_array();
      for (size_t i = 0; i < a.size(); ++i) {
        ASSIGN_OR_RETURN(Json v, NodeToJson(a[i], path + "[" + std::to_string(i) + "]"));
        arr.push_back(std::move(v));
      }
      return arr;
    }
    case toml::node_type::string:
      return Json(node.as_string()->get());
    case toml::node_type::integer: {
      int64_t n = node.as_integer()->get();
      if (n >= 0) return Json(static_cast<uint64_t>(n));
      return Json(n);
    }
    case toml::node_type::floating_point:
      return Json(node.as_floating_point()->get());
    case toml::node_type::boolean:
      return Json(node.as_boolean()->get());
    default:  // date, time, date-time: no configuration key takes one
      return Status::InvalidArgument("key '" + path +
                                     "': expected a string, number or boolean, found a TOML "
                                     "date/time");
  }
}

}  // namespace

Result<Json> TomlToJson(std::string_view text) {
  toml::table table;
  try {
    table = toml::parse(text);
  } catch (const toml::parse_error& e) {
    const toml::source_position& pos = e.source().begin;
    std::ostringstream msg;
    msg << "invalid TOML at line " << pos.line << ", column " << pos.column << ": "
        << e.description();
    return Status::InvalidArgument(msg.str());
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("invalid TOML: ") + e.what());
  }
  return NodeToJson(table, "");
}

}  // namespace nydus::daemon::internal
