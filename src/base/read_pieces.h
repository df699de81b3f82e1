// ReadPieces: the bytes of one read as an ordered list of pieces, for replies that are sent
// with one gathering write (writev) instead of being copied into one buffer first.
//
// A piece points either into the caller's own buffer or into a read-only mapping that some
// lower layer owns (the blob cache's data files). `keep` holds such mappings alive until the
// pieces are cleared, so the addresses stay valid even if the owner goes away in between
// (an unmount racing with a reply). The bytes behind a mapped piece are never touched in user
// space by the consumer: only the kernel copies them (writev), so a file shortened under the
// mapping makes that write fail with EFAULT instead of raising SIGBUS.
//
// A consumer may bound the number of pieces (writev takes at most IOV_MAX iovecs): producers
// reference bytes in place only while CanReference() and otherwise copy them into the
// caller's buffer, whose consecutive ranges merge into one piece; so the list never grows
// past max_pieces.
//
// Not thread-safe; one per reply. Clear() keeps the capacity, so a thread-local instance
// allocates only while it grows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace nydus {

class ReadPieces {
 public:
  explicit ReadPieces(size_t max_pieces = SIZE_MAX)
      : max_pieces_(max_pieces < 2 ? 2 : max_pieces) {}

  struct Piece {
    const uint8_t* data = nullptr;
    size_t size = 0;
  };

  // Appends [data, data + size); merged with the previous piece when it continues it.
  void Add(const uint8_t* data, size_t size) {
    if (size == 0) return;
    if (!pieces_.empty() && pieces_.back().data + pieces_.back().size == data) {
      pieces_.back().size += size;
    } else {
      pieces_.push_back(Piece{data, size});
    }
    total_ += size;
  }

  // Keeps `owner` (the mapping behind pieces that point into it) alive until Clear. Holding
  // the same owner as the last one kept is a no-op.
  void Keep(const std::shared_ptr<const void>& owner) {
    if (!keep_.empty() && keep_.back() == owner) return;
    keep_.push_back(owner);
  }

  // Whether one more piece may point elsewhere than the caller's buffer: room is left for it
  // and for one piece of the buffer after it.
  bool CanReference() const { return pieces_.size() + 2 <= max_pieces_; }

  void Clear() {
    pieces_.clear();
    keep_.clear();
    total_ = 0;
  }

  const std::vector<Piece>& pieces() const { return pieces_; }
  size_t total() const { return total_; }

 private:
  size_t max_pieces_;
  std::vector<Piece> pieces_;
  std::vector<std::shared_ptr<const void>> keep_;
  size_t total_ = 0;
};

}  // namespace nydus
