// Longer than the engine's usual 400 lines on purpose: the producer's and the
// consumer's halves of this lock-free buffer share one set of invariants
// (below), and splitting them across files would hide which side may touch
// which slot.
#include "jitter/jitter_buffer.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "rtp/rtp_packet.h"

namespace sipmix {

// A slot is written only by the producer, and only while its index lies in
// [held_pos, held_pos + capacity): the consumer never reads it then. The
// stamp is published with release after the data; the consumer reads it with
// acquire. The consumer writes a stamp only to mark an index it skipped as
// lost (a tombstone); the producer's CAS then fails and the packet is late.
struct alignas(kCacheLine) JitterBuffer::Slot {
  std::atomic<uint64_t> stamp{0};  // 0 empty, present_stamp(i) or tomb_stamp(i)
  int64_t arrival_us = 0;
  int64_t media_us = 0;
  uint32_t rtp_timestamp = 0;
  uint32_t ssrc = 0;
  uint16_t size = 0;
  uint16_t payload_offset = 0;
  uint16_t payload_size = 0;
  uint16_t sequence_number = 0;
  uint16_t epoch = 0;
  uint8_t payload_type = 0;
  bool marker = false;
  uint8_t data[kMaxPacketBytes];
};

namespace {

// Single writer: a relaxed load+store is enough and avoids a locked RMW.
template <typename T>
inline void bump(std::atomic<T>& a, T n = 1) {
  a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// Stores `v` into a single-writer atomic only when it changed: the
// consumer reads these lines on every call, and an unchanged line stays
// shared in both caches.
template <typename T, typename V>
inline void publish_if_changed(std::atomic<T>& a, V v) {
  if (a.load(std::memory_order_relaxed) != static_cast<T>(v)) a.store(static_cast<T>(v), std::memory_order_relaxed);
}

int32_t clamp_us(int64_t v) {
  return static_cast<int32_t>(std::clamp<int64_t>(v, 0, std::numeric_limits<int32_t>::max()));
}

}  // namespace

Status JitterBuffer::validate(const JitterBufferConfig& c) {
  const uint32_t cap = c.capacity_packets;
  if (cap < 16 || cap > 32768 || (cap & (cap - 1)) != 0)
    return invalid_argument("capacity_packets must be a power of two in [16, 32768]");
  if (c.clock_rate_hz < 1000 || c.clock_rate_hz > 1000000)
    return invalid_argument("clock_rate_hz must be in [1000, 1000000]");
  if (c.frame_duration_ms < 1 || c.frame_duration_ms > 200)
    return invalid_argument("frame_duration_ms must be in [1, 200]");
  if (c.min_delay_ms < 0 || c.max_delay_ms < c.min_delay_ms || c.max_delay_ms > 10000)
    return invalid_argument("min_delay_ms/max_delay_ms must satisfy 0 <= min <= max <= 10000");
  if (!(c.delay_quantile > 0.0 && c.delay_quantile < 1.0))
    return invalid_argument("delay_quantile must be in (0, 1)");
  if (!(c.forget_factor >= 0.5 && c.forget_factor < 1.0))
    return invalid_argument("forget_factor must be in [0.5, 1)");
  if (c.delay_window_ms < 100 || c.delay_window_ms > 60000)
    return invalid_argument("delay_window_ms must be in [100, 60000]");
  if (c.max_seq_jump < 1 || c.max_misorder < 1)
    return invalid_argument("max_seq_jump and max_misorder must be >= 1");
  if (c.max_timestamp_jump_ms < 100)
    return invalid_argument("max_timestamp_jump_ms must be >= 100");
  return Status::ok_status();
}

StatusOr<std::unique_ptr<JitterBuffer>> JitterBuffer::create(const JitterBufferConfig& config) {
  Status s = validate(config);
  if (!s.ok()) return s;
  return std::make_unique<JitterBuffer>(config);
}

JitterBuffer::JitterBuffer(const JitterBufferConfig& c)
    : config_(c),
      capacity_(c.capacity_packets),
      mask_(c.capacity_packets - 1u),
      reset_margin_(std::min<int64_t>(16, c.capacity_packets / 8)),
      max_forward_jump_(std::min<int64_t>(c.max_seq_jump, c.capacity_packets / 2)),
      us_per_tick_(1e6 / c.clock_rate_hz),
      max_ts_jump_ticks_(int64_t{c.max_timestamp_jump_ms} * c.clock_rate_hz / 1000),
      slots_(new Slot[c.capacity_packets]),
      prod_(c) {
  pshared_.target_delay_us.store(prod_.estimator.target_us(), std::memory_order_relaxed);
  cons_.frame_us = int64_t{c.frame_duration_ms} * 1000;
}

JitterBuffer::~JitterBuffer() = default;

// ---------------------------------------------------------------- producer

int64_t JitterBuffer::media_us_of(int64_t ts_ext) const {
  // Exact to well under a microsecond for any realistic stream length.
  return prod_.media_origin_us + static_cast<int64_t>(static_cast<double>(ts_ext - prod_.first_ts) * us_per_tick_);
}

InsertResult JitterBuffer::start_epoch(uint32_t ssrc, uint16_t seq, uint32_t ts, int64_t arrival_us) {
  Producer& p = prod_;
  if (p.synced) p.expected_done += static_cast<uint64_t>(p.highest_ext - p.lowest_ext + 1);
  const InsertResult r = p.synced ? InsertResult::kReset : InsertResult::kAccepted;
  p.synced = true;
  p.ssrc = ssrc;
  p.epoch = static_cast<uint16_t>(p.epoch + 1);
  const int64_t base = p.highest_index + 1;
  p.epoch_first_index = base;
  p.flush_base = base;
  // The margin leaves room for packets of the new stream that were sent
  // before this one but arrive after it.
  p.offset = base + reset_margin_ - seq;
  p.highest_ext = p.lowest_ext = seq;
  p.ts_unwrap.reset();
  p.highest_ts = p.first_ts = p.ts_unwrap.unwrap(ts);
  p.media_origin_us = arrival_us;
  p.probation = false;
  p.estimator.restart_stream();
  // Published before any stamp of the new epoch: the consumer applies it
  // before it can see one of them.
  pshared_.reset_word.store((static_cast<uint64_t>(base) << 16) | p.epoch, std::memory_order_release);
  return r;
}

void JitterBuffer::update_delay_estimate(int64_t arrival_us, int64_t media_us, int64_t ts_ext) {
  DelayEstimator& e = prod_.estimator;
  e.update(arrival_us, media_us, ts_ext);
  publish_if_changed(pstats_.jitter_q4, e.jitter_q4());
  publish_if_changed(pshared_.ref_offset_us, e.ref_offset_us());
  publish_if_changed(pshared_.target_delay_us, e.target_us());
}

InsertResult JitterBuffer::insert(std::span<const uint8_t> pkt, int64_t arrival_us) {
  ProducerStats& st = pstats_;
  if (pkt.size() > kMaxPacketBytes) {
    bump(st.too_large);
    return InsertResult::kTooLarge;
  }
  const std::optional<rtp::RtpPacketView> v = rtp::parse_rtp(pkt);
  if (!v) {
    bump(st.malformed);
    return InsertResult::kMalformed;
  }
  Producer& p = prod_;
  InsertResult result = InsertResult::kAccepted;
  if (!p.synced) {
    result = start_epoch(v->ssrc, v->sequence_number, v->timestamp, arrival_us);
  } else if (v->ssrc != p.ssrc) {
    bump(st.ssrc_changes);
    bump(st.resets);
    result = start_epoch(v->ssrc, v->sequence_number, v->timestamp, arrival_us);
  } else {
    const int64_t delta = wrap_diff<uint16_t>(v->sequence_number, static_cast<uint16_t>(p.highest_ext));
    const int64_t ts_delta = p.ts_unwrap.peek(v->timestamp) - p.highest_ts;
    if (delta > max_forward_jump_ || delta < -int64_t{config_.max_misorder} ||
        (ts_delta < 0 ? -ts_delta : ts_delta) > max_ts_jump_ticks_) {
      if (p.probation && v->sequence_number == p.probation_seq) {
        bump(st.resets);
        result = start_epoch(v->ssrc, v->sequence_number, v->timestamp, arrival_us);
      } else {
        p.probation = true;
        p.probation_seq = static_cast<uint16_t>(v->sequence_number + 1);
        bump(st.received);
        bump(st.discarded);
        return InsertResult::kJumpPending;
      }
    } else {
      p.probation = false;
    }
  }

  const int64_t ext = p.highest_ext + wrap_diff<uint16_t>(v->sequence_number, static_cast<uint16_t>(p.highest_ext));
  const int64_t index = ext + p.offset;
  bump(st.received);
  if (index < p.epoch_first_index || index <= p.highest_index - capacity_) {
    bump(st.late);
    return InsertResult::kLate;
  }
  Slot& s = slots_[static_cast<uint64_t>(index) & mask_];
  uint64_t cur = s.stamp.load(std::memory_order_relaxed);
  if (cur == present_stamp(index)) {
    bump(st.duplicate);
    return InsertResult::kDuplicate;
  }

  const int64_t ts_ext = p.ts_unwrap.unwrap(v->timestamp);
  const int64_t media_us = media_us_of(ts_ext);
  if (ext < p.highest_ext) {
    bump(st.reordered);
  } else if (ext > p.highest_ext) {
    p.highest_ext = ext;
    p.highest_ts = ts_ext;
  }
  if (ext < p.lowest_ext) p.lowest_ext = ext;
  st.expected.store(p.expected_done + static_cast<uint64_t>(p.highest_ext - p.lowest_ext + 1),
                    std::memory_order_relaxed);
  update_delay_estimate(arrival_us, media_us, ts_ext);

  if (cur == tomb_stamp(index) || index < p.cached_held) {
    bump(st.late);
    return InsertResult::kLate;
  }
  if (index >= p.cached_held + capacity_) {
    p.cached_held = cshared_.held_pos.load(std::memory_order_acquire);
    if (index < p.cached_held) {
      bump(st.late);
      return InsertResult::kLate;
    }
    if (index >= p.cached_held + capacity_) {
      // The consumer is a whole ring behind. Ask it to flush (once until it
      // has applied that), so the stream does not stay stuck at full.
      bump(st.discarded);
      if (p.flush_base <= p.cached_held) {
        bump(st.resets);
        (void)start_epoch(v->ssrc, v->sequence_number, v->timestamp, arrival_us);
      }
      return InsertResult::kBufferFull;
    }
  }

  s.arrival_us = arrival_us;
  s.media_us = media_us;
  s.rtp_timestamp = v->timestamp;
  s.ssrc = v->ssrc;
  s.size = static_cast<uint16_t>(pkt.size());
  s.payload_offset = static_cast<uint16_t>(v->payload.data() - pkt.data());
  s.payload_size = static_cast<uint16_t>(v->payload.size());
  s.sequence_number = v->sequence_number;
  s.epoch = p.epoch;
  s.payload_type = v->payload_type;
  s.marker = v->marker;
  std::memcpy(s.data, pkt.data(), pkt.size());
  if (index > p.highest_index) {
    // The consumer only tombstones indices below a present one, so nothing
    // above the highest index written can be tombstoned: a plain store.
    s.stamp.store(present_stamp(index), std::memory_order_release);
    // The bound is published only when this packet leaves a hole behind it.
    // Every index above the published bound was then written in order, so
    // the consumer finds those by their stamps alone: an in-order stream
    // never writes this line.
    if (index > p.highest_index + 1) pindex_.gap_bound.store(index, std::memory_order_release);
    p.highest_index = index;
  } else if (!s.stamp.compare_exchange_strong(cur, present_stamp(index), std::memory_order_release,
                                              std::memory_order_relaxed)) {
    bump(st.late);  // the consumer skipped this index while we copied
    return InsertResult::kLate;
  }
  return result;
}

// ---------------------------------------------------------------- consumer

void JitterBuffer::begin_call() {
  Consumer& c = cons_;
  // Views handed out by the previous call are released from here on.
  if (c.read_pos != c.held_published) {
    cshared_.held_pos.store(c.read_pos, std::memory_order_release);
    c.held_published = c.read_pos;
  }
  const uint64_t w = pshared_.reset_word.load(std::memory_order_acquire);
  if (static_cast<uint16_t>(w & 0xFFFF) != c.epoch) apply_reset(w);
}

void JitterBuffer::apply_reset(uint64_t w) {
  Consumer& c = cons_;
  const int64_t base = static_cast<int64_t>(w >> 16);
  for (int64_t i = c.read_pos; i < base; ++i) {
    if (slots_[static_cast<uint64_t>(i) & mask_].stamp.load(std::memory_order_acquire) == present_stamp(i))
      ++c.discarded;
  }
  c.read_pos = std::max(c.read_pos, base);
  cshared_.held_pos.store(c.read_pos, std::memory_order_release);
  c.held_published = c.read_pos;
  c.epoch = static_cast<uint16_t>(w & 0xFFFF);
  c.playing = false;
  c.last_index = -1;
  c.frame_us = int64_t{config_.frame_duration_ms} * 1000;
}

bool JitterBuffer::is_present(int64_t index) const {
  const Slot& s = slots_[static_cast<uint64_t>(index) & mask_];
  return s.stamp.load(std::memory_order_acquire) == present_stamp(index) && s.epoch == cons_.epoch;
}

int64_t JitterBuffer::find_present(int64_t from) {
  // The stamps say what is present. The producer's gap bound only tells how
  // far past a missing index to look: every index above it that was written
  // is contiguous with it (see insert()), so when `from` itself is absent,
  // anything present after it lies at or below the bound. As in rigtorp's
  // SPSCQueue, the bound is reloaded (acquire) only when the cached copy
  // does not find anything.
  Consumer& c = cons_;
  const int64_t limit = c.held_published + capacity_ - 1;
  if (from > limit) return -1;
  if (is_present(from)) return from;
  const int64_t hi = std::min(c.cached_bound, limit);
  for (int64_t i = from + 1; i <= hi; ++i) {
    if (is_present(i)) return i;
  }
  const int64_t h = pindex_.gap_bound.load(std::memory_order_acquire);
  if (h == c.cached_bound) return -1;
  c.cached_bound = h;
  const int64_t hi2 = std::min(h, limit);
  for (int64_t i = std::max(from, hi) + 1; i <= hi2; ++i) {
    if (is_present(i)) return i;
  }
  return -1;
}

int64_t JitterBuffer::tombstone_range(int64_t from, int64_t to) {
  for (int64_t i = from; i < to; ++i) {
    Slot& s = slots_[static_cast<uint64_t>(i) & mask_];
    uint64_t cur = s.stamp.load(std::memory_order_acquire);
    for (;;) {
      if (cur == present_stamp(i)) {
        if (s.epoch == cons_.epoch) return i;  // arrived just now: play it
        break;
      }
      if (s.stamp.compare_exchange_weak(cur, tomb_stamp(i), std::memory_order_acq_rel,
                                        std::memory_order_acquire))
        break;
    }
  }
  return -1;
}

inline void JitterBuffer::fill(int64_t index, JitterPacket& p) const {
  const Slot& s = slots_[static_cast<uint64_t>(index) & mask_];
  p.data = std::span<const uint8_t>(s.data, s.size);
  p.payload = std::span<const uint8_t>(s.data + s.payload_offset, s.payload_size);
  p.index = index;
  p.arrival_us = s.arrival_us;
  p.media_us = s.media_us;
  p.rtp_timestamp = s.rtp_timestamp;
  p.ssrc = s.ssrc;
  p.sequence_number = s.sequence_number;
  p.payload_type = s.payload_type;
  p.marker = s.marker;
}

Playout JitterBuffer::play(int64_t index, int64_t now_us, int64_t ref_us) {
  Consumer& c = cons_;
  Playout out;
  out.kind = PlayoutKind::kPacket;
  fill(index, out.packet);
  const int64_t media = out.packet.media_us;
  if (c.last_index >= 0 && index == c.last_index + 1) {
    const int64_t d = media - c.last_media_us;
    if (d >= 2500 && d <= 120000) c.frame_us = d;
  }
  c.last_index = index;
  c.last_media_us = media;
  c.next_media_us = media + c.frame_us;
  c.read_pos = index + 1;
  c.current_delay_us = clamp_us(now_us - ref_us - media);
  ++c.played;
  return out;
}

Playout JitterBuffer::pull_audio(int64_t now_us, bool silent) {
  begin_call();
  Consumer& c = cons_;
  const int64_t ref = pshared_.ref_offset_us.load(std::memory_order_relaxed);
  const int64_t target = pshared_.target_delay_us.load(std::memory_order_relaxed);
  const int64_t slack = c.frame_us / 2;
  // Delay at which `media` would play if played now.
  auto delay_of = [&](int64_t media) { return now_us - ref - media; };

  if (!c.playing) {
    int64_t p = find_present(c.read_pos);
    if (p < 0) return {};
    const int64_t d = delay_of(slots_[static_cast<uint64_t>(p) & mask_].media_us);
    c.current_delay_us = clamp_us(d);
    if (d + slack < target) return {};  // still buffering
    const int64_t q = tombstone_range(c.read_pos, p);
    if (q >= 0) p = q;
    c.playing = true;
    c.last_index = -1;
    return play(p, now_us, ref);
  }

  const int64_t expected = c.next_media_us;
  if (is_present(c.read_pos)) {
    const int64_t m = slots_[static_cast<uint64_t>(c.read_pos) & mask_].media_us;
    if (m > expected + slack) {
      // A time gap before it (DTX, sender pause): play when its time comes.
      c.current_delay_us = clamp_us(delay_of(m));
      if (delay_of(m) + slack < target) return {};
      return play(c.read_pos, now_us, ref);
    }
    const int64_t cur = delay_of(m);
    if (silent) {
      const int64_t next = c.read_pos + 1;
      if (cur > target + c.frame_us && is_present(next) &&
          slots_[static_cast<uint64_t>(next) & mask_].media_us <= m + c.frame_us + slack) {
        // Too much delay and the audio is silent: drop one frame.
        ++c.discarded;
        ++c.delay_cuts;
        c.read_pos = next;
        c.last_index = -1;
        return play(next, now_us, ref);
      }
      if (cur + c.frame_us < target) {
        // Too little delay: hold one frame of silence.
        ++c.delay_holds;
        c.current_delay_us = clamp_us(cur);
        return {};
      }
    }
    return play(c.read_pos, now_us, ref);
  }

  // The packet at the playout point is not here.
  const int64_t q = find_present(c.read_pos + 1);
  if (q < 0) {  // underrun or pause: the delay grows by one frame
    c.current_delay_us = clamp_us(delay_of(expected));
    return {};
  }
  const int64_t mq = slots_[static_cast<uint64_t>(q) & mask_].media_us;
  if (mq <= expected + slack) {
    // A sequence gap without a time gap: nothing to conceal.
    const int64_t r = tombstone_range(c.read_pos, q);
    const int64_t p = r >= 0 ? r : q;
    c.missing += static_cast<uint64_t>(p - c.read_pos);
    return play(p, now_us, ref);
  }
  // Concealing the whole gap frame by frame would play the packet after it
  // at delay_of(mq) + gap frames. Skip at once the frames beyond the target
  // (after an outage, or with excess delay); conceal the rest one per tick.
  uint32_t skipped = 0;
  const int64_t gap = q - c.read_pos;
  const int64_t excess = delay_of(mq) + gap * c.frame_us - target;
  if (excess >= c.frame_us) {
    const int64_t n = std::min(gap, excess / c.frame_us);
    const int64_t r = tombstone_range(c.read_pos, c.read_pos + n);
    if (r >= 0) {  // one of them arrived just now
      const uint32_t lost = static_cast<uint32_t>(r - c.read_pos);
      c.missing += lost;
      Playout out = play(r, now_us, ref);
      out.lost_before = lost;
      return out;
    }
    skipped = static_cast<uint32_t>(n);
    c.missing += skipped;
    c.read_pos += n;
    c.next_media_us += n * c.frame_us;
    c.last_index = -1;
    if (c.read_pos == q) {
      Playout out = play(q, now_us, ref);
      out.lost_before = skipped;
      return out;
    }
  }
  const int64_t cur = delay_of(c.next_media_us);
  c.current_delay_us = clamp_us(cur);
  if (cur + slack < target) {
    // Below the target: wait (conceal without consuming) rather than
    // declare it lost; this raises the delay toward the target.
    ++c.delay_holds;
    Playout out;
    out.lost_before = skipped;
    return out;
  }
  const int64_t r = tombstone_range(c.read_pos, c.read_pos + 1);
  if (r >= 0) {
    Playout out = play(r, now_us, ref);
    out.lost_before = skipped;
    return out;
  }
  ++c.read_pos;
  c.next_media_us += c.frame_us;
  c.last_index = -1;
  ++c.missing;
  Playout out;
  out.kind = PlayoutKind::kMissing;
  out.lost_before = skipped;
  return out;
}

bool JitterBuffer::peek_next(JitterPacket* out) {
  begin_call();
  if (!is_present(cons_.read_pos)) return false;
  fill(cons_.read_pos, *out);
  return true;
}

Playout JitterBuffer::pop_due(int64_t now_us) {
  begin_call();
  Consumer& c = cons_;
  int64_t p = find_present(c.read_pos);
  if (p < 0) return {};
  const int64_t ref = pshared_.ref_offset_us.load(std::memory_order_relaxed);
  const int64_t target = pshared_.target_delay_us.load(std::memory_order_relaxed);
  if (now_us - ref - slots_[static_cast<uint64_t>(p) & mask_].media_us < target) return {};
  const int64_t r = tombstone_range(c.read_pos, p);
  if (r >= 0) p = r;
  // The gap before an epoch's first packet is the reset margin, not loss.
  const uint32_t lost = c.playing ? static_cast<uint32_t>(p - c.read_pos) : 0;
  c.playing = true;
  c.missing += lost;
  Playout out = play(p, now_us, ref);
  out.lost_before = lost;
  return out;
}

JitterDelay JitterBuffer::delay() const {
  return {cons_.current_delay_us / 1000, pshared_.target_delay_us.load(std::memory_order_relaxed) / 1000};
}

void JitterBuffer::report_concealed(uint32_t frames) { cons_.concealed += frames; }

JitterStats JitterBuffer::stats() const {
  const ProducerStats& st = pstats_;
  const Consumer& c = cons_;
  auto ld = [](const auto& a) { return a.load(std::memory_order_relaxed); };
  JitterStats s;
  s.received = ld(st.received);
  s.expected = ld(st.expected);
  s.lost = static_cast<int64_t>(s.expected) - static_cast<int64_t>(s.received);
  s.late = ld(st.late);
  s.duplicate = ld(st.duplicate);
  s.reordered = ld(st.reordered);
  s.discarded = ld(st.discarded) + c.discarded;
  s.malformed = ld(st.malformed);
  s.too_large = ld(st.too_large);
  s.played = c.played;
  s.missing = c.missing;
  s.concealed = c.concealed;
  s.resets = ld(st.resets);
  s.ssrc_changes = ld(st.ssrc_changes);
  s.delay_cuts = c.delay_cuts;
  s.delay_holds = c.delay_holds;
  s.jitter_rtp = ld(st.jitter_q4) >> 4;
  s.jitter_ms = s.jitter_rtp * 1000.0 / config_.clock_rate_hz;
  s.current_delay_ms = c.current_delay_us / 1000;
  s.target_delay_ms = ld(pshared_.target_delay_us) / 1000;
  return s;
}

}  // namespace sipmix
