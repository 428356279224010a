// The buffer cache of memory.hpp: which cached buffer serves a request, the true sizes it
// accounts, and its limit. Each case runs on a fresh thread, whose cache starts empty.
#include <catch2/catch.hpp>

#include <thread>

#include "actlab/actlab.hpp"

using namespace actlab;

namespace {

template <class Body>
void on_fresh_thread(Body body) {
  std::thread worker(body);
  worker.join();
}

}  // namespace

TEST_CASE("a freed buffer serves requests down to half its size", "[memory]") {
  on_fresh_thread([] {
    const memory::Buffer big = memory::allocate(1024);  // 4096 bytes
    memory::release(big);
    const int64_t os_allocations = memory::stats().os_allocations;
    const memory::Buffer half = memory::allocate(512);
    CHECK(half.data == big.data);
    CHECK(half.bytes == 4096);  // its true size, not the 2048 asked for
    CHECK(memory::stats().os_allocations == os_allocations);
    memory::release(half);
    CHECK(memory::stats().cached_bytes == 4096);
    CHECK(memory::stats().cached_buffers == 1);
    memory::clear_cache();
  });
}

TEST_CASE("a request below half a cached buffer's size takes a new one", "[memory]") {
  on_fresh_thread([] {
    const memory::Buffer big = memory::allocate(1024);
    memory::release(big);
    const int64_t os_allocations = memory::stats().os_allocations;
    const memory::Buffer small = memory::allocate(496);  // 1984 bytes: 4096 is more than twice
    CHECK(small.bytes == 1984);
    CHECK(memory::stats().os_allocations == os_allocations + 1);
    CHECK(memory::stats().cached_bytes == 4096);  // the big one is still cached
    memory::release(small);
    memory::clear_cache();
  });
}

TEST_CASE("the smallest cached buffer that fits is taken", "[memory]") {
  on_fresh_thread([] {
    const memory::Buffer b1024 = memory::allocate(1024);
    const memory::Buffer b640 = memory::allocate(640);
    const memory::Buffer b512 = memory::allocate(512);
    for (const memory::Buffer& b : {b1024, b640, b512}) memory::release(b);
    const memory::Buffer exact = memory::allocate(512);
    CHECK(exact.data == b512.data);
    const memory::Buffer next = memory::allocate(512);
    CHECK(next.data == b640.data);
    CHECK(memory::stats().cached_bytes == 4096);
    for (const memory::Buffer& b : {exact, next}) memory::release(b);
    memory::clear_cache();
  });
}

TEST_CASE("the cache limit counts a buffer's true size", "[memory]") {
  on_fresh_thread([] {
    const memory::Buffer big = memory::allocate(1024);
    memory::release(big);
    const memory::Buffer served = memory::allocate(600);  // 2400 bytes asked, 4096 held
    memory::set_cache_limit(3000);
    memory::release(served);  // 4096 > 3000: back to the OS
    CHECK(memory::stats().cached_buffers == 0);
    CHECK(memory::stats().cached_bytes == 0);
    memory::set_cache_limit(int64_t{1} << 30);
  });
}

TEST_CASE("an FFN training loop takes nothing from the OS after its first step", "[memory]") {
  // Shaped like the W4 benchmark, smaller: buffers of one size serve smaller requests here.
  on_fresh_thread([] {
    Generator gen(0);
    nn::FeedForward ffn(64, 256, "gelu", true, gen);
    optim::AdamW opt(ffn.parameters(), 1e-3f);
    const Tensor x = Tensor::randn({32, 64}, gen);
    const Tensor target = Tensor::randn({32, 64}, gen);
    const auto step = [&] {
      opt.zero_grad();
      mse_loss(ffn(x), target).backward();
      opt.step();
    };
    step();
    const int64_t os_allocations = memory::stats().os_allocations;
    for (int i = 0; i < 20; ++i) step();
    CHECK(memory::stats().os_allocations == os_allocations);
  });
}
