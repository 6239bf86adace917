// Counts heap allocations (this file replaces the global operator new for the
// whole jitter test binary) and asserts that the steady-state insert/pull
// loop makes none.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <vector>

#include "jitter/jitter_buffer.h"
#include "tests/jitter/jitter_test_util.h"

namespace {
std::atomic<uint64_t> g_allocations{0};

void* counted_alloc(std::size_t n, std::size_t align) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (n == 0) n = 1;
  void* p = nullptr;
  if (align <= alignof(std::max_align_t)) {
    p = std::malloc(n);
  } else {
    p = std::aligned_alloc(align, (n + align - 1) / align * align);
  }
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n, 0); }
void* operator new[](std::size_t n) { return counted_alloc(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a)); }
// The nothrow forms too, so that every new/delete pair goes through malloc/free.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(n, 0);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(n, static_cast<std::size_t>(a));
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t& t) noexcept {
  return operator new(n, a, t);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace sipmix {
namespace {

TEST(JitterBufferAlloc, CounterSeesAllocations) {
  const uint64_t before = g_allocations.load();
  auto v = std::make_unique<std::vector<int>>(100);
  EXPECT_GE(g_allocations.load() - before, 2u);
}

TEST(JitterBufferAlloc, SteadyStateInsertAndPullDoNotAllocate) {
  // Packets with 5 % reorder and 1 % duplicates, built before counting.
  std::mt19937 rng(5);
  std::vector<testing::TimedPacket> pk;
  testing::AudioSender tx;
  tx.seq = 0xF000;  // crosses the wrap during the counted loop
  for (int i = 0; i < 6000; ++i) {
    pk.push_back(tx.next(5000 + static_cast<int64_t>(rng() % 3000)));
    if (rng() % 100 == 0) pk.push_back(pk.back());
  }
  for (size_t i = 0; i + 1 < pk.size(); ++i)
    if (rng() % 100 < 5) std::swap(pk[i], pk[i + 1]);

  JitterBufferConfig ac;
  auto audio = std::move(JitterBuffer::create(ac)).value();
  JitterBufferConfig vc;
  vc.capacity_packets = 1024;
  vc.clock_rate_hz = 48000;
  auto video = std::move(JitterBuffer::create(vc)).value();

  uint64_t played = 0;
  int64_t t = 0;
  auto step = [&](const testing::TimedPacket& p) {
    t = p.arrival_us;
    (void)audio->insert(p.bytes, p.arrival_us);
    (void)video->insert(p.bytes, p.arrival_us);
    played += audio->pull_audio(t, (t / 1000000) % 2 == 0).kind == PlayoutKind::kPacket;
    JitterPacket next;
    played += audio->peek_next(&next) ? 0 : 0;
    while (video->pop_due(t).kind == PlayoutKind::kPacket) ++played;
    played += static_cast<uint64_t>(audio->stats().played > 0 ? 0 : 0) + static_cast<uint64_t>(audio->delay().target_delay_ms < 0);
  };
  for (size_t i = 0; i < 1000; ++i) step(pk[i]);  // warm-up
  const uint64_t before = g_allocations.load(std::memory_order_relaxed);
  for (size_t i = 1000; i < pk.size(); ++i) step(pk[i]);
  const uint64_t allocations = g_allocations.load(std::memory_order_relaxed) - before;
  EXPECT_EQ(allocations, 0u);
  EXPECT_GT(played, 8000u);  // both buffers did play during the loop
}

}  // namespace
}  // namespace sipmix
