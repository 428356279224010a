// Size-bucketed, per-thread cache of 64-byte-aligned buffers. Training loops ask for the same
// sizes every step, so a bucket per size serves most requests exactly; a request without a
// free buffer of its size takes the smallest free one up to twice its size (the buffer keeps
// its true size, which its owner hands back to release). A per-thread cache needs no lock, and
// a buffer freed on another thread simply joins that thread's cache.
#include "actlab/core/memory.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <map>
#include <vector>

namespace actlab::memory {
namespace {

constexpr int64_t kAlignment = 64;
std::atomic<int64_t> g_live_buffers{0};
std::atomic<int64_t> g_os_allocations{0};
std::atomic<int64_t> g_cache_limit{int64_t{1} << 30};

int64_t bytes_for(int64_t numel) {
  const int64_t bytes = std::max<int64_t>(numel, 1) * static_cast<int64_t>(sizeof(float));
  return (bytes + kAlignment - 1) / kAlignment * kAlignment;
}

// Set once this thread's cache is destroyed (at thread exit), after which buffers freed by
// static destructors go straight back to the OS.
thread_local bool t_cache_destroyed = false;

class BufferCache {
 public:
  ~BufferCache() {
    clear();
    t_cache_destroyed = true;
  }

  // The smallest cached buffer of at least `bytes` and at most twice that, if any.
  Buffer take(int64_t bytes) {
    for (auto it = free_.lower_bound(bytes); it != free_.end() && it->first <= 2 * bytes; ++it) {
      if (it->second.empty()) continue;
      const Buffer b{it->second.back(), it->first};
      it->second.pop_back();
      cached_bytes_ -= b.bytes;
      --cached_buffers_;
      return b;
    }
    return {};
  }

  bool keep(Buffer b) {
    if (cached_bytes_ + b.bytes > g_cache_limit.load(std::memory_order_relaxed)) return false;
    free_[b.bytes].push_back(b.data);
    cached_bytes_ += b.bytes;
    ++cached_buffers_;
    return true;
  }

  void clear() {
    for (auto& [bytes, list] : free_)
      for (float* p : list) std::free(p);
    free_.clear();
    cached_bytes_ = 0;
    cached_buffers_ = 0;
  }

  int64_t cached_bytes() const { return cached_bytes_; }
  int64_t cached_buffers() const { return cached_buffers_; }

 private:
  std::map<int64_t, std::vector<float*>> free_;  // by size in bytes; emptied lists stay
  int64_t cached_bytes_ = 0;
  int64_t cached_buffers_ = 0;
};

BufferCache* cache() {
  if (t_cache_destroyed) return nullptr;
  thread_local BufferCache c;
  return &c;
}

}  // namespace

Buffer allocate(int64_t numel) {
  const int64_t bytes = bytes_for(numel);
  BufferCache* c = cache();
  Buffer b = c != nullptr ? c->take(bytes) : Buffer{};
  if (b.data == nullptr) {
    b = {static_cast<float*>(std::aligned_alloc(kAlignment, static_cast<size_t>(bytes))), bytes};
    if (b.data == nullptr) throw std::bad_alloc();
    g_os_allocations.fetch_add(1, std::memory_order_relaxed);
  }
  g_live_buffers.fetch_add(1, std::memory_order_relaxed);
  return b;
}

void release(Buffer buffer) {
  if (buffer.data == nullptr) return;
  g_live_buffers.fetch_sub(1, std::memory_order_relaxed);
  BufferCache* c = cache();
  if (c == nullptr || !c->keep(buffer)) std::free(buffer.data);
}

Stats stats() {
  const BufferCache* c = cache();
  return {g_live_buffers.load(), g_os_allocations.load(), c ? c->cached_buffers() : 0,
          c ? c->cached_bytes() : 0};
}

void clear_cache() {
  if (BufferCache* c = cache()) c->clear();
}

void set_cache_limit(int64_t bytes) { g_cache_limit.store(bytes); }

}  // namespace actlab::memory
