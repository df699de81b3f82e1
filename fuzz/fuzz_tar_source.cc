// libFuzzer target: `nydus-image create --type tar-rafs|targz-rafs` (builder/tar_source.h) on
// arbitrary bytes. The input is written to a private temporary directory as the layer tar
// (gzip is detected from the content) and built there into a blob + bootstrap with the
// post-build verification on; RAFS v6 for even-sized inputs, v5 for odd ones. Inputs over
// 64 KiB are ignored so a run stays short.
//
// Properties checked: no crash or hang; errors are InvalidArgument / Corruption / IOError;
// nothing is written outside the build's output directory (the process runs with the
// temporary directory as its working directory and the directory is checked after every
// run); an accepted build's tree has a directory root.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "base/logging.h"
#include "builder/builder.h"

namespace {

using namespace nydus;

std::string g_dir;  // <tmp>/nydus-fuzz-tar.XXXXXX, removed at exit

std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) std::abort();
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      names.emplace_back(e->d_name);
    }
  }
  ::closedir(d);
  return names;
}

// Empties out/ (which holds only files) and checks that the work directory holds nothing
// but in.tar and out/.
void CleanAndCheck() {
  const std::string out = g_dir + "/out";
  for (const std::string& n : List(out)) {
    std::string p = out + "/" + n;
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) std::abort();
    if (::unlink(p.c_str()) != 0) std::abort();
  }
  for (const std::string& n : List(g_dir)) {
    if (n != "in.tar" && n != "out") std::abort();  // written outside the output directory
  }
}

void RemoveWorkDir() {
  if (g_dir.empty()) return;
  const std::string out = g_dir + "/out";
  for (const std::string& n : List(out)) ::unlink((out + "/" + n).c_str());
  ::rmdir(out.c_str());
  ::unlink((g_dir + "/in.tar").c_str());
  ::rmdir(g_dir.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Rejected inputs are logged as warnings, which would dominate the run time.
  spdlog::set_level(spdlog::level::err);
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/nydus-fuzz-tar.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  g_dir = tmpl;
  if (::mkdir((g_dir + "/out").c_str(), 0755) != 0) std::abort();
  if (::chdir(g_dir.c_str()) != 0) std::abort();  // stray relative writes land here
  std::atexit(RemoveWorkDir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 65536) return 0;
  const std::string in = g_dir + "/in.tar";
  if (!WriteWholeFile(in, ByteSpan(data, size)).ok()) std::abort();

  builder::BuildOptions o;
  o.source = in;
  o.source_type = builder::SourceType::kTar;
  o.blob_dir = g_dir + "/out";
  o.bootstrap_path = g_dir + "/out/bootstrap";
  o.fs_version = size % 2 == 0 ? 6 : 5;
  o.compressor = size % 2 == 0 ? format::Compressor::kZstd : format::Compressor::kLz4Block;
  o.chunk_size = 0x1000;  // several chunks per file even for small inputs
  o.threads = 1;
  if (!builder::ValidateOptions(o).ok()) std::abort();
  auto r = builder::Build(o);
  if (!r.ok()) {
    StatusCode c = r.status().code();
    if (c != StatusCode::kInvalidArgument && c != StatusCode::kCorruption &&
        c != StatusCode::kIOError) {
      std::fprintf(stderr, "unexpected error: %s\n", r.status().ToString().c_str());
      std::abort();
    }
  } else if (!r->image.root || !r->image.root->inode->IsDir()) {
    std::abort();
  }
  CleanAndCheck();
  return 0;
}
