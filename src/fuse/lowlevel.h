// Internal to src/fuse: the single include of libfuse's low-level API, with the API version
// pinned. 3.12 is the first API level with fuse_loop_cfg_set_max_threads (--fuse-threads);
// everything else used here exists since 3.5. Debian 12 ships libfuse 3.14.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
