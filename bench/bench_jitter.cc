// Jitter buffer insert+pop throughput, single thread: sipmix's lock-free ring
// against a mutex + std::map buffer with the same semantics (reorder,
// duplicates, late drop, in-order pop of due packets). Same packet sequence:
// 5 % reordered, 1 % duplicated, sequence numbers wrapping.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <map>
#include <mutex>
#include <random>
#include <vector>

#include "base/seq_num.h"
#include "jitter/jitter_buffer.h"
#include "rtp/byte_io.h"
#include "rtp/rtp_packet.h"

namespace sipmix {
namespace {

constexpr int64_t kFrameUs = 20000;
constexpr int64_t kTargetUs = 40000;
constexpr uint32_t kRate = 48000;
constexpr size_t kPayload = 160;

// Arrival order of packet numbers, repeated with an offset every kPattern.
struct Workload {
  static constexpr size_t kPattern = 4096;
  std::vector<uint32_t> order;  // packet numbers within one pattern
  std::vector<uint8_t> tmpl;    // RTP packet, seq/ts patched per packet

  Workload() {
    std::mt19937 rng(42);
    std::vector<uint32_t> base(kPattern);
    for (uint32_t i = 0; i < kPattern; ++i) base[i] = i;
    for (size_t i = 0; i + 1 < kPattern - 1; ++i)
      if (rng() % 100 < 5) std::swap(base[i], base[i + 1]);
    for (uint32_t n : base) {
      order.push_back(n);
      if (rng() % 100 == 0) order.push_back(n);  // duplicate
    }
    std::vector<uint8_t> payload(kPayload, 0x55);
    rtp::RtpHeader h;
    h.payload_type = 111;
    h.ssrc = 0xBEEF;
    tmpl.resize(rtp::kRtpHeaderSize + kPayload);
    tmpl.resize(rtp::write_rtp(h, {}, payload, tmpl));
  }
  // Writes packet `n` into `buf`, returns its arrival time.
  int64_t make(uint64_t n, uint8_t* buf) const {
    std::memcpy(buf, tmpl.data(), tmpl.size());
    rtp::write_u16(buf + 2, static_cast<uint16_t>(n));
    rtp::write_u32(buf + 4, static_cast<uint32_t>(n * 960));
    return static_cast<int64_t>(n) * kFrameUs + 5000;
  }
};

const Workload& workload() {
  static const Workload w;
  return w;
}

// The baseline: what a straightforward thread-safe buffer looks like.
class MutexMapJitterBuffer {
 public:
  bool insert(std::span<const uint8_t> pkt, int64_t arrival_us) {
    const auto v = rtp::parse_rtp(pkt);
    if (!v) return false;
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t ext = seq_.unwrap(v->sequence_number);
    const int64_t ts = ts_.unwrap(v->timestamp);
    if (!started_) {
      started_ = true;
      first_ts_ = ts;
      origin_us_ = arrival_us;
    }
    if (ext <= last_popped_) return false;  // late
    Entry e;
    e.media_us = origin_us_ + (ts - first_ts_) * 1000000 / kRate;
    e.arrival_us = arrival_us;
    e.bytes.assign(pkt.begin(), pkt.end());
    return packets_.emplace(ext, std::move(e)).second;  // false: duplicate
  }
  // Pops the first packet if it is due; fills `out`.
  bool pop_due(int64_t now_us, std::vector<uint8_t>* out) {
    std::lock_guard<std::mutex> lock(mu_);
    if (packets_.empty()) return false;
    auto it = packets_.begin();
    if (now_us - it->second.media_us < kTargetUs) return false;
    last_popped_ = it->first;
    out->swap(it->second.bytes);
    packets_.erase(it);
    return true;
  }

 private:
  struct Entry {
    int64_t media_us;
    int64_t arrival_us;
    std::vector<uint8_t> bytes;
  };
  std::mutex mu_;
  std::map<int64_t, Entry> packets_;
  SeqUnwrapper seq_;
  TimestampUnwrapper ts_;
  bool started_ = false;
  int64_t first_ts_ = 0;
  int64_t origin_us_ = 0;
  int64_t last_popped_ = -1;
};

void BM_JitterBuffer_sipmix(benchmark::State& state) {
  const Workload& w = workload();
  JitterBufferConfig c;
  c.capacity_packets = 256;
  c.clock_rate_hz = kRate;
  c.min_delay_ms = c.max_delay_ms = kTargetUs / 1000;
  auto jb = std::move(JitterBuffer::create(c)).value();
  uint8_t buf[1500];
  uint64_t loop = 0;
  size_t i = 0;
  uint64_t popped = 0, bytes = 0;
  for (auto _ : state) {
    const uint64_t n = loop * Workload::kPattern + w.order[i];
    const int64_t arrival = w.make(n, buf);
    benchmark::DoNotOptimize(jb->insert(std::span<const uint8_t>(buf, w.tmpl.size()), arrival));
    for (Playout p = jb->pop_due(arrival); p.kind == PlayoutKind::kPacket; p = jb->pop_due(arrival)) {
      ++popped;
      bytes += p.packet.payload.size();
    }
    if (++i == w.order.size()) {
      i = 0;
      ++loop;
    }
  }
  benchmark::DoNotOptimize(bytes);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["popped_per_insert"] = static_cast<double>(popped) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_JitterBuffer_sipmix)->Name("BM_JitterBuffer/sipmix");

void BM_JitterBuffer_mutex_map(benchmark::State& state) {
  const Workload& w = workload();
  MutexMapJitterBuffer jb;
  uint8_t buf[1500];
  std::vector<uint8_t> out;
  uint64_t loop = 0;
  size_t i = 0;
  uint64_t popped = 0, bytes = 0;
  for (auto _ : state) {
    const uint64_t n = loop * Workload::kPattern + w.order[i];
    const int64_t arrival = w.make(n, buf);
    benchmark::DoNotOptimize(jb.insert(std::span<const uint8_t>(buf, w.tmpl.size()), arrival));
    while (jb.pop_due(arrival, &out)) {
      ++popped;
      bytes += out.size();
    }
    if (++i == w.order.size()) {
      i = 0;
      ++loop;
    }
  }
  benchmark::DoNotOptimize(bytes);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["popped_per_insert"] = static_cast<double>(popped) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_JitterBuffer_mutex_map)->Name("BM_JitterBuffer/mutex_map");

// Two threads, as in a gateway: a producer thread inserts as fast as the
// consumer lets it (it stays within 200 packets), the benchmark thread pops.
// Items = packets popped; wall time.
template <typename Insert, typename Pop>
void run_threaded(benchmark::State& state, Insert insert, Pop pop) {
  const Workload& w = workload();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> popped_n{0};
  std::thread producer([&] {
    uint8_t buf[1500];
    uint64_t loop = 0;
    size_t i = 0;
    uint64_t popped_cached = 0;  // reloaded only when the window looks full
    while (!stop.load(std::memory_order_relaxed)) {
      const uint64_t n = loop * Workload::kPattern + w.order[i];
      if (n > popped_cached + 200) {
        popped_cached = popped_n.load(std::memory_order_acquire);
        if (n > popped_cached + 200) std::this_thread::yield();
        continue;
      }
      const int64_t arrival = w.make(n, buf);
      insert(std::span<const uint8_t>(buf, w.tmpl.size()), arrival);
      if (++i == w.order.size()) {
        i = 0;
        ++loop;
      }
    }
  });
  constexpr int64_t kNow = int64_t{1} << 60;
  uint64_t count = 0;
  for (auto _ : state) {
    uint64_t n = 0;
    while (!pop(kNow, &n)) __builtin_ia32_pause();
    popped_n.store(n, std::memory_order_release);
    ++count;
  }
  stop.store(true);
  producer.join();
  state.SetItemsProcessed(static_cast<int64_t>(count));
}

void BM_JitterBufferThreads_sipmix(benchmark::State& state) {
  JitterBufferConfig c;
  c.capacity_packets = 512;
  auto jb = std::move(JitterBuffer::create(c)).value();
  run_threaded(
      state, [&](std::span<const uint8_t> p, int64_t t) { (void)jb->insert(p, t); },
      [&](int64_t now, uint64_t* n) {
        const Playout p = jb->pop_due(now);
        if (p.kind != PlayoutKind::kPacket) return false;
        *n = static_cast<uint64_t>(p.packet.media_us / kFrameUs);
        return true;
      });
}
BENCHMARK(BM_JitterBufferThreads_sipmix)->Name("BM_JitterBufferThreads/sipmix")->UseRealTime();

void BM_JitterBufferThreads_mutex_map(benchmark::State& state) {
  MutexMapJitterBuffer jb;
  std::vector<uint8_t> out;
  SeqUnwrapper unwrap;
  run_threaded(
      state, [&](std::span<const uint8_t> p, int64_t t) { (void)jb.insert(p, t); },
      [&](int64_t now, uint64_t* n) {
        if (!jb.pop_due(now, &out)) return false;
        *n = static_cast<uint64_t>(unwrap.unwrap(rtp::read_u16(out.data() + 2)));
        return true;
      });
}
BENCHMARK(BM_JitterBufferThreads_mutex_map)->Name("BM_JitterBufferThreads/mutex_map")->UseRealTime();

}  // namespace
}  // namespace sipmix
