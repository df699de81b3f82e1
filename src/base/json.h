// The one wrapper around nlohmann::json. Json keeps insertion order so output matches
// the reference's field order.
#pragma once

#include <nlohmann/json.hpp>

namespace nydus {
using Json = nlohmann::ordered_json;
}  // namespace nydus
