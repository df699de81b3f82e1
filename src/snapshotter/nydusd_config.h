// The nydusd configuration the snapshotter writes for one image: a nydusd v1 JSON template
// (--nydusd-config, like the reference's nydusd-config.fusedev.json; DefaultNydusdConfig()
// when none is given) with, for the registry backend, `host` and `repo` of the image filled in,
// and the blob cache directory of the image. Credentials never go into the file: nydusd gets
// them in IMAGE_PULL_AUTH. Other backend types (localfs, ...) are used as the template says.
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "base/json.h"
#include "base/result.h"
#include "converter/image_ref.h"

namespace nydus::snapshotter {

// Registry backend (scheme left empty: https with fallback to http), blobcache, no prefetch,
// xattrs on.
Json DefaultNydusdConfig();

// Parses and checks a template file's text: a JSON object with a "device" object.
Result<Json> ParseNydusdTemplate(const std::string& text);

Result<Json> BuildNydusdConfig(const Json& tmpl, const converter::ImageRef& ref,
                               const std::string& cache_dir);

}  // namespace nydus::snapshotter
