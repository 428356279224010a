// Size-bucketed, per-thread cache of 64-byte-aligned buffers. Exact-size buckets suit training
// loops, which ask for the same sizes every step; a per-thread cache needs no lock, and a
// buffer freed on another thread simply joins that thread's cache.
#include "actlab/memory.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <unordered_map>
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

  float* take(int64_t bytes) {
    auto it = free_.find(bytes);
    if (it == free_.end() || it->second.empty()) return nullptr;
    float* p = it->second.back();
    it->second.pop_back();
    cached_bytes_ -= bytes;
    --cached_buffers_;
    return p;
  }

  bool keep(float* p, int64_t bytes) {
    if (cached_bytes_ + bytes > g_cache_limit.load(std::memory_order_relaxed)) return false;
    free_[bytes].push_back(p);
    cached_bytes_ += bytes;
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
  std::unordered_map<int64_t, std::vector<float*>> free_;
  int64_t cached_bytes_ = 0;
  int64_t cached_buffers_ = 0;
};

BufferCache* cache() {
  if (t_cache_destroyed) return nullptr;
  thread_local BufferCache c;
  return &c;
}

}  // namespace

float* allocate(int64_t numel) {
  const int64_t bytes = bytes_for(numel);
  BufferCache* c = cache();
  float* p = c != nullptr ? c->take(bytes) : nullptr;
  if (p == nullptr) {
    p = static_cast<float*>(std::aligned_alloc(kAlignment, static_cast<size_t>(bytes)));
    if (p == nullptr) throw std::bad_alloc();
    g_os_allocations.fetch_add(1, std::memory_order_relaxed);
  }
  g_live_buffers.fetch_add(1, std::memory_order_relaxed);
  return p;
}

void release(float* data, int64_t numel) {
  if (data == nullptr) return;
  g_live_buffers.fetch_sub(1, std::memory_order_relaxed);
  BufferCache* c = cache();
  if (c == nullptr || !c->keep(data, bytes_for(numel))) std::free(data);
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
