// Jitter buffer insert+pop throughput: sipmix's lock-free ring against a
// mutex + std::map buffer with the same semantics (reorder, duplicates, late
// drop, RFC 3550 counters, the adaptive target delay, in-order pop of due
// packets). Same packet sequence: 5 % reordered, 1 % duplicated, sequence
// numbers wrapping.
//   BM_JitterBuffer/*              a producer thread and a consumer thread,
//                                  as the buffer is used (the headline figure)
//   BM_JitterBufferSingleThread/*  one thread inserts and pops in turn
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstring>
#include <limits>
#include <thread>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include "base/seq_num.h"
#include "jitter/delay_estimator.h"
#include "jitter/jitter_buffer.h"
#include "rtp/byte_io.h"
#include "rtp/rtp_packet.h"
#include "interleave.h"

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

JitterBufferConfig single_thread_config() {
  JitterBufferConfig c;
  c.capacity_packets = 256;
  c.clock_rate_hz = kRate;
  c.min_delay_ms = c.max_delay_ms = kTargetUs / 1000;
  return c;
}

// The baseline: what a straightforward thread-safe buffer with the same
// semantics looks like. One mutex guards a std::map keyed by extended
// sequence number. It keeps the same RFC 3550 counters, drops duplicates
// and packets whose turn has passed, and pops in sequence order when
// now - reference transit - media time >= target. The delay estimate is
// sipmix's own DelayEstimator. It runs under the lock, because whether a
// packet counts (not a duplicate, not late) is known only there; parsing,
// unwrapping and the copy of the bytes happen before the lock. It leaves out
// SSRC changes and jump probation, which this workload does not exercise.
class MutexMapJitterBuffer {
 public:
  explicit MutexMapJitterBuffer(const JitterBufferConfig& c) : estimator_(c), us_per_tick_(1e6 / c.clock_rate_hz) {}

  bool insert(std::span<const uint8_t> pkt, int64_t arrival_us) {
    const auto v = rtp::parse_rtp(pkt);
    if (!v) return false;
    // Producer-only state, outside the lock.
    const int64_t ext = seq_.unwrap(v->sequence_number);
    const int64_t ts = ts_.unwrap(v->timestamp);
    if (!started_) {
      started_ = true;
      first_ts_ = ts;
      origin_us_ = arrival_us;
    }
    const int64_t media_us = origin_us_ + static_cast<int64_t>(static_cast<double>(ts - first_ts_) * us_per_tick_);
    Entry e;
    e.media_us = media_us;
    e.arrival_us = arrival_us;
    e.bytes.assign(pkt.begin(), pkt.end());

    std::lock_guard<std::mutex> lock(mu_);
    ++received_;
    if (ext <= last_popped_) {
      ++late_;
      return false;
    }
    if (!packets_.emplace(ext, std::move(e)).second) {
      ++duplicate_;
      return false;
    }
    if (ext < highest_) ++reordered_;
    highest_ = std::max(highest_, ext);
    lowest_ = std::min(lowest_, ext);
    estimator_.update(arrival_us, media_us, ts);
    ref_us_ = estimator_.ref_offset_us();
    target_us_ = estimator_.target_us();
    return true;
  }
  JitterStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    JitterStats s;
    s.received = received_;
    s.expected = highest_ >= lowest_ ? static_cast<uint64_t>(highest_ - lowest_ + 1) : 0;
    s.lost = static_cast<int64_t>(s.expected) - static_cast<int64_t>(s.received);
    s.late = late_;
    s.duplicate = duplicate_;
    s.reordered = reordered_;
    s.played = played_;
    s.missing = missing_;
    s.jitter_rtp = estimator_.jitter_q4() >> 4;
    s.target_delay_ms = static_cast<int32_t>(target_us_ / 1000);
    return s;
  }
  // Pops the first packet if it is due; fills `out`.
  bool pop_due(int64_t now_us, std::vector<uint8_t>* out) {
    std::lock_guard<std::mutex> lock(mu_);
    if (packets_.empty()) return false;
    auto it = packets_.begin();
    if (now_us - ref_us_ - it->second.media_us < target_us_) return false;
    if (last_popped_ >= 0) missing_ += static_cast<uint64_t>(it->first - last_popped_ - 1);
    last_popped_ = it->first;
    ++played_;
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
  DelayEstimator estimator_;
  const double us_per_tick_;
  SeqUnwrapper seq_;
  TimestampUnwrapper ts_;
  bool started_ = false;
  int64_t first_ts_ = 0;
  int64_t origin_us_ = 0;

  std::mutex mu_;
  std::map<int64_t, Entry> packets_;
  int64_t last_popped_ = -1;
  int64_t highest_ = -1, lowest_ = std::numeric_limits<int64_t>::max();
  uint64_t received_ = 0, late_ = 0, duplicate_ = 0, reordered_ = 0, played_ = 0, missing_ = 0;
  int64_t ref_us_ = 0;
  int64_t target_us_ = 0;
};

// Both buffers behind the same two calls, so each benchmark runs one body.
struct SipmixUnderTest {
  std::unique_ptr<JitterBuffer> jb;
  explicit SipmixUnderTest(const JitterBufferConfig& c) : jb(std::move(JitterBuffer::create(c)).value()) {}
  void insert(std::span<const uint8_t> p, int64_t t) { benchmark::DoNotOptimize(jb->insert(p, t)); }
  JitterStats stats() const { return jb->stats(); }
  // Pops one due packet if there is one: its packet number into *n.
  bool pop(int64_t now, uint64_t* n, uint64_t* bytes) {
    const Playout p = jb->pop_due(now);
    if (p.kind != PlayoutKind::kPacket) return false;
    *n = static_cast<uint64_t>(p.packet.media_us / kFrameUs);
    *bytes += p.packet.payload.size();
    return true;
  }
};

struct MutexMapUnderTest {
  MutexMapJitterBuffer jb;
  std::vector<uint8_t> out;
  SeqUnwrapper unwrap;
  explicit MutexMapUnderTest(const JitterBufferConfig& c) : jb(c) {}
  void insert(std::span<const uint8_t> p, int64_t t) { benchmark::DoNotOptimize(jb.insert(p, t)); }
  JitterStats stats() { return jb.stats(); }
  bool pop(int64_t now, uint64_t* n, uint64_t* bytes) {
    if (!jb.pop_due(now, &out)) return false;
    *n = static_cast<uint64_t>(unwrap.unwrap(rtp::read_u16(out.data() + 2)));
    *bytes += out.size() - rtp::kRtpHeaderSize;
    return true;
  }
};

// One thread: insert a packet at its arrival time, then pop what is due.
template <typename Buffer>
void run_single_thread(benchmark::State& state) {
  const Workload& w = workload();
  Buffer b(single_thread_config());
  uint8_t buf[1500];
  uint64_t loop = 0, n = 0;
  size_t i = 0;
  uint64_t popped = 0, bytes = 0;
  for (auto _ : state) {
    const int64_t arrival = w.make(loop * Workload::kPattern + w.order[i], buf);
    b.insert(std::span<const uint8_t>(buf, w.tmpl.size()), arrival);
    while (b.pop(arrival, &n, &bytes)) ++popped;
    if (++i == w.order.size()) {
      i = 0;
      ++loop;
    }
  }
  benchmark::DoNotOptimize(bytes);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  // The same decisions on both sides show the same semantics.
  const double inserts = static_cast<double>(state.iterations());
  const JitterStats st = b.stats();
  state.counters["popped_per_insert"] = static_cast<double>(popped) / inserts;
  state.counters["dropped_per_insert"] = static_cast<double>(st.late + st.duplicate) / inserts;
  state.counters["reordered_per_insert"] = static_cast<double>(st.reordered) / inserts;
  state.counters["target_ms"] = st.target_delay_ms;
}

// The producer thread of the two-thread benchmarks: packets come in batches,
// as from recvmmsg(): a batch is written, then inserted, so the buffer reads
// packet bytes that were written well before (not bytes still in the store
// buffer). It stays within 200 packets of the consumer (`popped_n`), and
// keeps its place in the workload in `loop`/`i` until `stop`.
template <typename Buffer>
void produce_batches(Buffer& b, const Workload& w, const std::atomic<bool>& stop,
                     const std::atomic<uint64_t>& popped_n, uint64_t& loop, size_t& i) {
  constexpr size_t kBatch = 32;
  const size_t size = w.tmpl.size();
  std::vector<uint8_t> bufs(kBatch * size);
  int64_t arrival[kBatch];
  uint64_t popped_cached = popped_n.load(std::memory_order_acquire);  // reloaded only when the window looks full
  while (!stop.load(std::memory_order_relaxed)) {
    size_t k = 0;
    for (; k < kBatch; ++k) {
      const uint64_t n = loop * Workload::kPattern + w.order[i];
      if (n > popped_cached + 200) {
        popped_cached = popped_n.load(std::memory_order_acquire);
        if (n > popped_cached + 200) break;
      }
      arrival[k] = w.make(n, &bufs[k * size]);
      if (++i == w.order.size()) {
        i = 0;
        ++loop;
      }
    }
    if (k == 0) std::this_thread::yield();
    for (size_t j = 0; j < k; ++j) b.insert(std::span<const uint8_t>(&bufs[j * size], size), arrival[j]);
  }
}

// Two threads, as the buffer is used: a producer thread (the network side)
// inserts as fast as the consumer lets it (it stays within 200 packets of
// it), and the benchmark thread (the media side) pops every packet as soon
// as it is there. Items = packets handed over; wall time.
template <typename Buffer>
void run_two_threads(benchmark::State& state) {
  const Workload& w = workload();
  JitterBufferConfig c;
  c.capacity_packets = 512;
  Buffer b(c);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> popped_n{0};
  std::thread producer([&] {
    uint64_t loop = 0;
    size_t i = 0;
    produce_batches(b, w, stop, popped_n, loop, i);
  });
  constexpr int64_t kNow = int64_t{1} << 60;
  uint64_t count = 0, bytes = 0;
  for (auto _ : state) {
    uint64_t n = 0;
    while (!b.pop(kNow, &n, &bytes)) __builtin_ia32_pause();
    popped_n.store(n, std::memory_order_release);
    ++count;
  }
  stop.store(true);
  producer.join();
  benchmark::DoNotOptimize(bytes);
  state.SetItemsProcessed(static_cast<int64_t>(count));
}

// The interleaved forms: each side keeps its buffer and its place in the
// packet sequence from batch to batch, so a batch continues where the last
// one stopped.

// BM_JitterBufferSingleThread/interleaved: a batch is n turns of the loop in
// run_single_thread(), CPU time.
template <typename Buffer>
struct SingleThreadSide {
  Buffer b{single_thread_config()};
  uint8_t buf[1500];
  uint64_t loop = 0, n = 0;
  size_t i = 0;
  uint64_t popped = 0, bytes = 0;

  void run(int64_t count) {
    const Workload& w = workload();
    for (int64_t k = 0; k < count; ++k) {
      const int64_t arrival = w.make(loop * Workload::kPattern + w.order[i], buf);
      b.insert(std::span<const uint8_t>(buf, w.tmpl.size()), arrival);
      while (b.pop(arrival, &n, &bytes)) ++popped;
      if (++i == w.order.size()) {
        i = 0;
        ++loop;
      }
    }
    benchmark::DoNotOptimize(bytes);
  }
};

// BM_JitterBuffer/interleaved: a batch is n packets handed over from a
// producer thread to the benchmark thread, as in run_two_threads(), wall
// time. The producer thread is started for each batch and waits for the
// signal that starts the clock (after its own set-up), so the buffer holds no packets produced
// before the batch began (besides the up to 200 left over from the last
// batch, which is the steady state). Thread start and join are untimed.
template <typename Buffer>
struct TwoThreadSide {
  Buffer b;
  std::atomic<uint64_t> popped_n{0};
  uint64_t loop = 0;  // producer's place, handed over by join
  size_t i = 0;
  uint64_t bytes = 0;

  static JitterBufferConfig config() {
    JitterBufferConfig c;
    c.capacity_packets = 512;
    return c;
  }
  TwoThreadSide() : b(config()) {}

  void run(int64_t count, bench::BatchTimer& timer) {
    const Workload& w = workload();
    std::atomic<bool> ready{false}, go{false}, stop{false};
    std::thread producer([&] {
      ready.store(true, std::memory_order_release);
      while (!go.load(std::memory_order_acquire)) __builtin_ia32_pause();
      produce_batches(b, w, stop, popped_n, loop, i);
    });
    constexpr int64_t kNow = int64_t{1} << 60;
    while (!ready.load(std::memory_order_acquire)) std::this_thread::yield();
    timer.start();
    go.store(true, std::memory_order_release);
    for (int64_t k = 0; k < count; ++k) {
      uint64_t n = 0;
      while (!b.pop(kNow, &n, &bytes)) __builtin_ia32_pause();
      popped_n.store(n, std::memory_order_release);
    }
    timer.stop();
    stop.store(true);
    producer.join();
    benchmark::DoNotOptimize(bytes);
  }
};

const bool kJitterInterleaved = [] {
  // Longer batches: a preemption of either thread (the machine is shared)
  // weighs less in a batch of 50 ms.
  bench::InterleaveOptions wall;
  wall.clock = bench::BatchClock::kWall;
  wall.batch_s = 0.05;
  bench::InterleavedBenchmark(
      "BM_JitterBuffer/interleaved",
      [](benchmark::State&, std::vector<bench::Side>* sides) {
        auto sipmix = std::make_shared<TwoThreadSide<SipmixUnderTest>>();
        auto mutex_map = std::make_shared<TwoThreadSide<MutexMapUnderTest>>();
        sides->push_back({"sipmix", [sipmix](int64_t n, bench::BatchTimer& t) { sipmix->run(n, t); }});
        sides->push_back({"mutex_map", [mutex_map](int64_t n, bench::BatchTimer& t) { mutex_map->run(n, t); }});
      },
      wall);
  bench::InterleavedBenchmark("BM_JitterBufferSingleThread/interleaved",
                              [](benchmark::State&, std::vector<bench::Side>* sides) {
                                auto sipmix = std::make_shared<SingleThreadSide<SipmixUnderTest>>();
                                auto mutex_map = std::make_shared<SingleThreadSide<MutexMapUnderTest>>();
                                sides->push_back(bench::Side::whole("sipmix", [sipmix](int64_t n) { sipmix->run(n); }));
                                sides->push_back(
                                    bench::Side::whole("mutex_map", [mutex_map](int64_t n) { mutex_map->run(n); }));
                              });
  return true;
}();

BENCHMARK(run_two_threads<SipmixUnderTest>)->Name("BM_JitterBuffer/sipmix")->UseRealTime();
BENCHMARK(run_two_threads<MutexMapUnderTest>)->Name("BM_JitterBuffer/mutex_map")->UseRealTime();
BENCHMARK(run_single_thread<SipmixUnderTest>)->Name("BM_JitterBufferSingleThread/sipmix");
BENCHMARK(run_single_thread<MutexMapUnderTest>)->Name("BM_JitterBufferSingleThread/mutex_map");

}  // namespace
}  // namespace sipmix
