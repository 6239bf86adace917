// Per-stream RTP jitter buffer: a lock-free single-producer/single-consumer
// ring. One network thread (the producer) calls insert(); the session's media
// tick thread (the consumer) calls everything else. The buffer owns its slots;
// a JitterPacket handed to the consumer points into a slot and stays valid
// until the consumer's next call on this buffer.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "base/aligned_buffer.h"
#include "base/seq_num.h"
#include "jitter/delay_estimator.h"
#include "sipmix/status.h"

namespace sipmix {

struct JitterBufferConfig {
  // Ring size in packets, a power of two in [16, 32768]. Each slot holds up
  // to kMaxPacketBytes. Audio needs about 64; video about 1024.
  uint32_t capacity_packets = 128;
  uint32_t clock_rate_hz = 48000;
  // Audio frame length before it is learned from timestamps.
  uint32_t frame_duration_ms = 20;
  // The adaptive target delay stays within [min_delay_ms, max_delay_ms].
  int32_t min_delay_ms = 20;
  int32_t max_delay_ms = 1000;
  // Target = this quantile of the relative arrival delay histogram.
  double delay_quantile = 0.95;
  // Per-packet forgetting of the histogram (NetEq uses 0.9993 at 50 pkt/s).
  double forget_factor = 0.9993;
  // Window in which the fastest packet sets the delay reference.
  int32_t delay_window_ms = 2000;
  // A forward sequence jump above this (capped at capacity/2), or a backward
  // one above max_misorder, or a timestamp jump above max_timestamp_jump_ms,
  // resets the stream once a second consecutive packet confirms it
  // (RFC 3550 §A.1 probation).
  uint32_t max_seq_jump = 3000;
  uint32_t max_misorder = 100;
  int32_t max_timestamp_jump_ms = 10000;
};

// Why insert() took or refused a packet.
enum class InsertResult : uint8_t {
  kAccepted,
  kReset,        // accepted as the first packet of a new epoch (SSRC change, confirmed jump, overflow flush)
  kDuplicate,    // that sequence number is already buffered or was played
  kLate,         // its turn has passed (played as missing, or skipped)
  kTooLarge,     // larger than kMaxPacketBytes
  kMalformed,    // not a valid RTP packet
  kJumpPending,  // a huge sequence/timestamp jump: dropped until a second packet confirms it
  kBufferFull,   // the consumer is a full ring behind: dropped (and a flush was requested)
};

// A buffered packet as the consumer sees it. The spans point into the ring.
struct JitterPacket {
  std::span<const uint8_t> data;     // the whole RTP packet
  std::span<const uint8_t> payload;  // RTP payload, padding removed
  int64_t index = 0;                 // position in the ring's extended sequence space
  int64_t arrival_us = 0;
  int64_t media_us = 0;              // RTP timestamp on the buffer's media timeline
  uint32_t rtp_timestamp = 0;
  uint32_t ssrc = 0;
  uint16_t sequence_number = 0;
  uint8_t payload_type = 0;
  bool marker = false;
};

enum class PlayoutKind : uint8_t {
  kPacket,   // decode `packet`
  kMissing,  // a lost packet's turn: conceal (PLC), or decode FEC from peek_next()
  kNotYet,   // nothing is due: buffering, underrun, DTX pause or a delay step; nothing consumed
};

struct Playout {
  PlayoutKind kind = PlayoutKind::kNotYet;
  JitterPacket packet;      // valid when kind == kPacket
  // Sequence numbers skipped as lost, without a turn of their own, just
  // before this result. pop_due() reports every gap here; pull_audio() only
  // the frames it dropped at once because concealing them one per tick would
  // push the delay past the target (after an outage).
  uint32_t lost_before = 0;
};

struct JitterDelay {
  int32_t current_delay_ms = 0;  // how long after its earliest possible arrival the playout point plays
  int32_t target_delay_ms = 0;
};

// RFC 3550 terms. `received` counts every valid packet of the stream,
// duplicates and late ones included; lost = expected - received (§A.3), so it
// can go negative with duplicates.
struct JitterStats {
  uint64_t received = 0;
  uint64_t expected = 0;
  int64_t lost = 0;
  uint64_t late = 0;
  uint64_t duplicate = 0;
  uint64_t reordered = 0;
  uint64_t discarded = 0;  // accepted but never played: flushed by a reset, dropped to cut delay, ring full, jump probation
  uint64_t malformed = 0;
  uint64_t too_large = 0;
  uint64_t played = 0;
  uint64_t missing = 0;    // turns handed out as kMissing or skipped as lost
  uint64_t concealed = 0;  // reported by the consumer
  uint64_t resets = 0;
  uint64_t ssrc_changes = 0;
  uint64_t delay_cuts = 0;   // silent frames dropped to move toward the target
  uint64_t delay_holds = 0;  // frames held back to move toward the target
  uint32_t jitter_rtp = 0;   // interarrival jitter, RFC 3550 §A.8, timestamp units
  double jitter_ms = 0;
  int32_t current_delay_ms = 0;
  int32_t target_delay_ms = 0;
};

class JitterBuffer {
 public:
  static constexpr size_t kMaxPacketBytes = 1500;

  // Checks every field; the message names the bad one.
  static Status validate(const JitterBufferConfig& config);
  static StatusOr<std::unique_ptr<JitterBuffer>> create(const JitterBufferConfig& config);
  // `config` must pass validate(). Allocates the whole ring.
  explicit JitterBuffer(const JitterBufferConfig& config);
  ~JitterBuffer();
  JitterBuffer(const JitterBuffer&) = delete;
  JitterBuffer& operator=(const JitterBuffer&) = delete;

  // ---- producer thread ----
  // Copies `rtp_packet` into the ring. No lock, allocation or syscall.
  [[nodiscard]] InsertResult insert(std::span<const uint8_t> rtp_packet, int64_t arrival_us);

  // ---- consumer thread ----
  // Audio, once per frame tick: the next frame in playout order. `silent`
  // says the audio now playing is silence/comfort noise, so the buffer may
  // drop or hold one frame to move the delay toward the target.
  Playout pull_audio(int64_t now_us, bool silent = false);
  // The packet the next pull_audio() would consider, if it is here (for FEC
  // after kMissing). Valid until the next consumer call.
  bool peek_next(JitterPacket* out);
  // Video: the next packet whose playout time has come, in sequence order.
  // Call until it returns kNotYet. lost_before counts the gap before it.
  Playout pop_due(int64_t now_us);

  // Delay status for a time-stretching consumer: play faster while
  // current > target, slower while current < target.
  JitterDelay delay() const;
  void report_concealed(uint32_t frames);
  JitterStats stats() const;

 private:
  struct Slot;
  struct alignas(kFalseSharingRange) ProducerShared {  // written by the producer rarely, read by the consumer per call
    std::atomic<uint64_t> reset_word{0};  // (first index of the epoch << 16) | epoch
    std::atomic<int64_t> ref_offset_us{0};  // fastest transit (arrival - media) in the window
    std::atomic<int32_t> target_delay_us{0};
  };
  struct alignas(kFalseSharingRange) ProducerIndex {  // written when a packet leaves a hole, read when the consumer's cache finds nothing
    std::atomic<int64_t> gap_bound{-1};  // the newest index written above a hole
  };
  struct alignas(kFalseSharingRange) ProducerStats {  // written by the producer, read by stats()
    std::atomic<uint64_t> received{0}, expected{0};
    std::atomic<uint64_t> late{0}, duplicate{0}, reordered{0}, discarded{0}, malformed{0};
    std::atomic<uint64_t> too_large{0}, resets{0}, ssrc_changes{0};
    std::atomic<uint32_t> jitter_q4{0};
  };
  struct alignas(kFalseSharingRange) ConsumerShared {  // written by the consumer, read by the producer when its cache says full
    std::atomic<int64_t> held_pos{0};  // lowest index the consumer may still read
  };
  struct alignas(kFalseSharingRange) Producer {  // producer thread only
    bool synced = false;
    uint32_t ssrc = 0;
    uint16_t epoch = 0;
    int64_t offset = 0;          // index = extended seq + offset
    int64_t epoch_first_index = 0;
    int64_t highest_ext = 0;     // extended seq of the newest packet in the epoch
    int64_t lowest_ext = 0;
    uint64_t expected_done = 0;  // expected packets of finished epochs
    int64_t highest_index = -1;  // highest index ever written
    int64_t cached_held = 0;
    int64_t flush_base = -1;     // pending overflow flush: its epoch's first index
    int64_t highest_ts = 0;      // unwrapped RTP timestamp of the newest packet
    int64_t first_ts = 0;
    int64_t media_origin_us = 0;
    bool probation = false;
    uint16_t probation_seq = 0;
    uint32_t probation_ssrc = 0;
    TimestampUnwrapper ts_unwrap;
    DelayEstimator estimator;  // its outputs are published into pshared_/pstats_ when they change

    explicit Producer(const JitterBufferConfig& c) : estimator(c) {}
  };
  struct alignas(kFalseSharingRange) Consumer {  // consumer thread only
    int64_t read_pos = 0;
    int64_t held_published = 0;
    int64_t cached_bound = -1;  // the producer's gap_bound, as last loaded
    uint16_t epoch = 0;
    bool playing = false;
    int64_t next_media_us = 0;
    int64_t frame_us = 0;
    int64_t last_index = -1;
    int64_t last_media_us = 0;
    int32_t current_delay_us = 0;
    uint64_t played = 0, missing = 0, concealed = 0, discarded = 0;
    uint64_t delay_cuts = 0, delay_holds = 0;
  };

  static uint64_t present_stamp(int64_t index) { return static_cast<uint64_t>(index) * 2 + 2; }
  static uint64_t tomb_stamp(int64_t index) { return static_cast<uint64_t>(index) * 2 + 3; }

  InsertResult start_epoch(uint32_t ssrc, uint16_t seq, uint32_t ts, int64_t arrival_us);
  void update_delay_estimate(int64_t arrival_us, int64_t media_us, int64_t ts_ext);
  int64_t media_us_of(int64_t ts_ext) const;

  void begin_call();
  void apply_reset(uint64_t word);
  bool is_present(int64_t index) const;
  int64_t find_present(int64_t from);
  int64_t tombstone_range(int64_t from, int64_t to);
  void fill(int64_t index, JitterPacket& p) const;
  Playout play(int64_t index, int64_t now_us, int64_t ref_us);

  const JitterBufferConfig config_;
  const int64_t capacity_;
  const uint64_t mask_;
  const int64_t reset_margin_;
  const int64_t max_forward_jump_;
  const double us_per_tick_;
  const int64_t max_ts_jump_ticks_;
  std::unique_ptr<Slot[]> slots_;

  // Each side's state and each published value sit in their own 128-byte
  // aligned block (kFalseSharingRange).
  ProducerShared pshared_;
  ProducerIndex pindex_;
  ProducerStats pstats_;
  ConsumerShared cshared_;
  Producer prod_;
  Consumer cons_;

  static_assert(alignof(ProducerShared) == kFalseSharingRange && sizeof(ProducerShared) == kFalseSharingRange);
  static_assert(alignof(ProducerIndex) == kFalseSharingRange && sizeof(ProducerIndex) == kFalseSharingRange);
  static_assert(alignof(ConsumerShared) == kFalseSharingRange && sizeof(ConsumerShared) == kFalseSharingRange);
  static_assert(alignof(ProducerStats) == kFalseSharingRange && sizeof(ProducerStats) % kFalseSharingRange == 0);
  static_assert(alignof(Producer) == kFalseSharingRange && sizeof(Producer) % kFalseSharingRange == 0);
  static_assert(alignof(Consumer) == kFalseSharingRange && sizeof(Consumer) % kFalseSharingRange == 0);
  static_assert(std::atomic<uint64_t>::is_always_lock_free && std::atomic<int64_t>::is_always_lock_free);
};

}  // namespace sipmix
