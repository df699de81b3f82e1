// SingleFlight: collapses concurrent calls for the same key into one execution.
//
// The first caller of Do(key, fn) (the leader) runs fn; callers arriving while it runs wait
// and receive a copy of the leader's result, success or failure. Nothing is remembered once
// the call finishes: the next Do for the key runs fn again. So failures are never cached,
// and a caller that wants to reuse successes must store them elsewhere (e.g. a cache) from
// inside fn and check that store inside fn as well: a store made by a finished leader is
// visible to any later leader, because the leader's fn returns before its key is released
// under the same mutex that the next leader takes to register.
//
// Thread-safety: Do may be called concurrently; fn runs on the leader's thread without any
// lock held.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

namespace nydus::storage {

template <typename Key, typename Value, typename Hash = std::hash<Key>>
class SingleFlight {
 public:
  SingleFlight() = default;
  SingleFlight(const SingleFlight&) = delete;
  SingleFlight& operator=(const SingleFlight&) = delete;

  // Runs fn() or joins the call in flight for `key` and returns its result.
  template <typename Fn>
  Value Do(const Key& key, Fn&& fn) {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      auto it = calls_.find(key);
      if (it == calls_.end()) break;
      std::shared_ptr<Call> call = it->second;
      ++joins_;
      cv_.wait(lock, [&] { return call->done; });
      if (call->result) return *call->result;
      // The leader's fn threw: nobody holds the key any more, so try to lead.
    }
    auto call = std::make_shared<Call>();
    calls_.emplace(key, call);
    lock.unlock();
    // Releases the key even if fn throws, so that waiters never hang.
    struct Finish {
      SingleFlight* self;
      const Key& key;
      Call* call;
      ~Finish() {
        {
          std::lock_guard<std::mutex> guard(self->mu_);
          call->done = true;
          self->calls_.erase(key);
        }
        self->cv_.notify_all();
      }
    };
    Finish finish{this, key, call.get()};
    Value value = fn();
    std::lock_guard<std::mutex> guard(mu_);
    call->result.emplace(value);
    return value;
  }

  // Number of times a caller joined a call in flight (counted when it starts waiting).
  uint64_t joins() const {
    std::lock_guard<std::mutex> lock(mu_);
    return joins_;
  }

  // Number of keys currently in flight.
  size_t in_flight() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_.size();
  }

 private:
  struct Call {
    bool done = false;            // guarded by mu_
    std::optional<Value> result;  // guarded by mu_; set by the leader before done
  };

  mutable std::mutex mu_;
  std::condition_variable cv_;                                  // signalled when any call finishes
  std::unordered_map<Key, std::shared_ptr<Call>, Hash> calls_;  // guarded by mu_
  uint64_t joins_ = 0;                                          // guarded by mu_
};

}  // namespace nydus::storage
