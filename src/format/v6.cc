#include "format/v6.h"

#include <sys/stat.h>

namespace nydus::format {

uint8_t V6FileTypeOfMode(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return kV6FtRegular;
    case S_IFDIR: return kV6FtDir;
    case S_IFCHR: return kV6FtChrdev;
    case S_IFBLK: return kV6FtBlkdev;
    case S_IFIFO: return kV6FtFifo;
    case S_IFSOCK: return kV6FtSock;
    case S_IFLNK: return kV6FtSymlink;
    default: return kV6FtUnknown;
  }
}

}  // namespace nydus::format
