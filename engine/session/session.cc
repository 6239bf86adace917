// SessionImpl: the Session the public API promises. It owns the streams and
// legs, keeps the tick schedule and the moderation state, and calls down into
// the objects that do the work: Stream and Leg (receive sides), LegBuilder,
// LegAudioSender, LegVideoSender and PacketOutput.
// See engine/include/sipmix/session.h for the threading contract.
#include "sipmix/session.h"

#include <algorithm>
#include <atomic>
#include <memory>

#include "base/stage_timer.h"
#include "base/thread_checker.h"
#include "dtmf/mute_controller.h"
#include "mix/mixer.h"
#include "mix/talker.h"
#include "session/common.h"
#include "session/leg.h"
#include "session/leg_audio_sender.h"
#include "session/leg_builder.h"
#include "session/leg_video_sender.h"
#include "session/packet_output.h"
#include "session/stream.h"

namespace sipmix {
namespace session {
namespace {

constexpr int64_t kAudioTickUs = 20000;
constexpr uint32_t kLegIdBase = 1u << 16;  // mixer/talker ids of legs; streams use their slot

template <typename T>
int free_index(const std::vector<std::unique_ptr<T>>& table) {
  for (size_t i = 0; i < table.size(); ++i)
    if (!table[i]) return static_cast<int>(i);
  return -1;
}

class SessionImpl final : public Session {
 public:
  SessionImpl(const SessionConfig& config, Clock* clock, SessionSink* sink,
              std::unique_ptr<audio::NMinus1Mixer> mixer, std::unique_ptr<audio::TalkerDetector> talkers)
      : config_(config),
        clock_(clock),
        sink_(sink),
        mixer_(std::move(mixer)),
        talkers_(std::move(talkers)),
        mute_({}, [this](const dtmf::MuteEvent& e) { on_mute_event(e); }),
        streams_(static_cast<size_t>(config.max_streams)),
        tiles_(static_cast<size_t>(config.max_streams)),
        legs_(static_cast<size_t>(config.max_legs)),
        slot_generation_(std::make_unique<std::atomic<uint32_t>[]>(streams_.size() + legs_.size())),
        timer_(config.measure_stages),
        out_(sink, &timer_),
        builder_(config, clock),
        audio_sender_(mixer_.get(), &timer_, &out_),
        video_sender_(sink, &timer_, &out_, config.no_video_timeout_ms) {
    next_audio_us_ = clock_->now_us();
  }

  // ---- control -------------------------------------------------------------

  StatusOr<PushHandle> add_stream(const StreamConfig& c) override {
    SIPMIX_DCHECK_RUN_ON(thread_);
    if (c.id.empty()) return invalid_argument("stream.id: must not be empty");
    if (find_stream(c.id) || find_leg(c.id)) return invalid_argument("stream.id: \"" + c.id + "\" already exists");
    if (c.payload_type > 127) return invalid_argument("stream.payload_type: must be 0..127");
    const int slot = free_index(streams_);
    if (slot < 0) return invalid_argument("stream: the session is full (max_streams = " + std::to_string(config_.max_streams) + ")");
    auto built = build_stream(c, config_, slot, ++join_counter_);
    if (!built.ok()) return built.status();
    std::unique_ptr<Stream> s = std::move(*built);
    if (s->audio) {
      const uint32_t id = static_cast<uint32_t>(slot);
      if (Status st = mixer_->add_source(id); !st.ok()) return st;
      if (Status st = talkers_->add_source(id); !st.ok()) return st;
    }
    if (Status st = mute_.add_member(c.id, {dtmf::MemberKind::kStream, true, false}); !st.ok()) return st;
    s->generation = take_generation();
    const PushHandle handle{slot, s->generation};
    streams_[slot] = std::move(s);
    slot_generation_[slot].store(handle.generation, std::memory_order_release);
    streams_[slot]->set_muted(mute_.is_muted(c.id), *mixer_);
    emit_simple(Event::Type::kJoined, c.id);
    return handle;
  }

  Status remove_stream(const std::string& id) override {
    SIPMIX_DCHECK_RUN_ON(thread_);
    Stream* s = find_stream(id);
    if (!s) return not_found("stream \"" + id + "\": no such stream");
    slot_generation_[s->slot].store(0, std::memory_order_release);
    if (s->audio) {
      (void)mixer_->remove_source(static_cast<uint32_t>(s->slot));
      (void)talkers_->remove_source(static_cast<uint32_t>(s->slot));
    }
    (void)mute_.remove_member(id);
    streams_[s->slot].reset();
    emit_simple(Event::Type::kLeft, id);
    return {};
  }

  StatusOr<PushHandle> add_leg(const LegConfig& c) override {
    SIPMIX_DCHECK_RUN_ON(thread_);
    if (Status st = builder_.validate(c, find_leg(c.id) || find_stream(c.id)); !st.ok()) return st;
    const int index = free_index(legs_);
    if (index < 0) return invalid_argument("leg: the session is full (max_legs = " + std::to_string(config_.max_legs) + ")");
    auto built = builder_.build(c, config_.max_streams + index, kLegIdBase + static_cast<uint32_t>(index));
    if (!built.ok()) return built.status();
    std::unique_ptr<Leg> leg = std::move(*built);
    if (Status st = mixer_->add_source(leg->mixer_id); !st.ok()) return st;
    if (Status st = mixer_->add_output(leg->mixer_id, leg->mixer_id); !st.ok()) return st;
    if (Status st = talkers_->add_source(leg->mixer_id); !st.ok()) return st;
    dtmf::MemberOptions mo;
    mo.kind = dtmf::MemberKind::kSipLeg;
    mo.observe_force_mute = c.observe_force_mute;
    mo.telephone_event = c.telephone_event_payload_type >= 0;
    legs_[index] = std::move(leg);
    if (Status st = mute_.add_member(c.id, mo); !st.ok()) {
      legs_[index].reset();
      return st;
    }
    Leg& added = *legs_[index];
    added.generation = take_generation();
    slot_generation_[added.slot].store(added.generation, std::memory_order_release);
    emit_simple(Event::Type::kJoined, c.id);
    return PushHandle{added.slot, added.generation};
  }

  Status remove_leg(const std::string& id) override {
    SIPMIX_DCHECK_RUN_ON(thread_);
    Leg* leg = find_leg(id);
    if (!leg) return not_found("leg \"" + id + "\": no such leg");
    slot_generation_[leg->slot].store(0, std::memory_order_release);
    (void)mixer_->remove_output(leg->mixer_id);
    (void)mixer_->remove_source(leg->mixer_id);
    (void)talkers_->remove_source(leg->mixer_id);
    (void)mute_.remove_member(id);
    legs_[leg->slot - config_.max_streams].reset();
    emit_simple(Event::Type::kLeft, id);
    return {};
  }

  Status force_mute(const std::string& id, bool muted) override {
    SIPMIX_DCHECK_RUN_ON(thread_);
    auto r = mute_.force_mute(id, muted);
    return r.ok() ? Status() : r.status();
  }

  Status force_mute_session(bool muted, bool active, const std::vector<std::string>& excluded) override {
    SIPMIX_DCHECK_RUN_ON(thread_);
    mute_.force_mute_session(muted, active, excluded);
    return {};
  }

  Status play_dtmf(const std::string& leg_id, const std::string& digits) override {
    SIPMIX_DCHECK_RUN_ON(thread_);
    Leg* leg = find_leg(leg_id);
    if (!leg) return not_found("play_dtmf: no such leg \"" + leg_id + "\"");
    if (!leg->dtmf_tx) return invalid_argument("play_dtmf: leg \"" + leg_id + "\" has no telephone-event negotiated");
    return leg->dtmf_tx->play(digits);
  }

  Status request_keyframe(const std::string& leg_id) override {
    SIPMIX_DCHECK_RUN_ON(thread_);
    Leg* leg = find_leg(leg_id);
    if (!leg) return not_found("request_keyframe: no such leg \"" + leg_id + "\"");
    if (leg->video_encoder) leg->video_encoder->request_keyframe();
    return {};
  }

  // ---- network threads -----------------------------------------------------

  void push_rtp(PushHandle h, std::span<const uint8_t> packet) override {
    const int64_t now = clock_->now_us();
    if (!admit(h)) return;
    if (h.slot < config_.max_streams) {
      if (Stream* s = streams_[h.slot].get()) {
        SIPMIX_DCHECK_ONE_PRODUCER(s->producer);
        s->receive_rtp(packet, now);
      }
      return;
    }
    if (Leg* leg = legs_[h.slot - config_.max_streams].get()) {
      SIPMIX_DCHECK_ONE_PRODUCER(leg->producer);
      leg->receive_rtp(packet, now);
    }
  }

  void push_rtcp(PushHandle h, std::span<const uint8_t> packet) override {
    const int64_t now = clock_->now_us();
    // An empty packet is no RTCP; queued, it would read as "queue empty".
    if (packet.empty() || !admit(h)) return;
    if (h.slot < config_.max_streams) {
      if (Stream* s = streams_[h.slot].get()) {
        SIPMIX_DCHECK_ONE_PRODUCER(s->producer);
        s->receive_rtcp(packet, now);
      }
      return;
    }
    if (Leg* leg = legs_[h.slot - config_.max_streams].get()) {
      SIPMIX_DCHECK_ONE_PRODUCER(leg->producer);
      leg->receive_rtcp(packet, now);
    }
  }

  // ---- tick ----------------------------------------------------------------

  void tick() override {
    SIPMIX_DCHECK_RUN_ON(thread_);
    const int64_t now = clock_->now_us();
    const int64_t t0 = timer_.mark();
    run_due_ticks(now);
    if (timer_.enabled()) timer_.add_total(StageTimer::now_ns() - t0);
  }

  SessionStats stats() const override {
    SIPMIX_DCHECK_RUN_ON(thread_);
    SessionStats out;
    out.ticks = ticks_;
    out.distinct_audio_encodes = audio_sender_.distinct_encodes();
    out.stale_pushes = stale_pushes_.load(std::memory_order_relaxed);
    out.stages = timer_.times();
    for (const auto& s : streams_)
      if (s) out.streams.push_back(s->stats());
    for (const auto& l : legs_)
      if (l) out.legs.push_back(l->report());
    return out;
  }

 private:
  // ---- handles ---------------------------------------------------------------

  uint32_t take_generation() {
    if (++last_generation_ == 0) ++last_generation_;  // 0 is "no stream"
    return last_generation_;
  }

  // True when `h` names the stream or leg now in its slot; a handle from
  // before a removal is counted and refused. Network threads.
  bool admit(PushHandle h) {
    if (h.slot < 0 || static_cast<size_t>(h.slot) >= streams_.size() + legs_.size()) return false;
    const uint32_t current = slot_generation_[h.slot].load(std::memory_order_acquire);
    if (h.generation != 0 && h.generation == current) return true;
    stale_pushes_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  Stream* find_stream(const std::string& id) {
    for (auto& s : streams_)
      if (s && s->config.id == id) return s.get();
    return nullptr;
  }
  Leg* find_leg(const std::string& id) {
    for (auto& l : legs_)
      if (l && l->config.id == id) return l.get();
    return nullptr;
  }

  // ---- moderation -----------------------------------------------------------

  void on_mute_event(const dtmf::MuteEvent& e) {
    const std::string id(e.stream_id);
    Event ev;
    ev.type = Event::Type::kMuteChanged;
    ev.time_us = clock_->now_us();
    ev.id = id;
    ev.muted = e.muted;
    ev.cause = dtmf::to_string(e.cause);
    if (Leg* leg = find_leg(id)) {
      leg->set_muted(e.muted, *mixer_);
      sink_->on_event(ev);
      Event a;
      a.type = Event::Type::kAnnouncement;
      a.time_us = ev.time_us;
      a.id = id;
      a.muted = e.muted;
      sink_->on_event(a);
      return;
    }
    if (Stream* s = find_stream(id)) s->set_muted(e.muted, *mixer_);
    sink_->on_event(ev);
  }

  void emit_simple(Event::Type t, const std::string& id) {
    Event e;
    e.type = t;
    e.time_us = clock_->now_us();
    e.id = id;
    sink_->on_event(e);
  }

  // ---- the tick schedule -------------------------------------------------------

  // Runs every audio and video tick due by `now`.
  void run_due_ticks(int64_t now) {
    for (;;) {
      // The earliest due tick first, audio before video at the same instant.
      int64_t next = next_audio_us_;
      Leg* video_leg = nullptr;
      for (auto& l : legs_)
        if (l && l->video_encoder && l->next_video_us < next) {
          next = l->next_video_us;
          video_leg = l.get();
        }
      if (next > now) break;
      if (video_leg) {
        decode_video(video_leg->next_video_us);
        video_sender_.send_frame(*video_leg, streams_, video_leg->next_video_us);
        video_leg->next_video_us += video_leg->video_frame_us;
      } else {
        audio_tick(next_audio_us_);
        next_audio_us_ += kAudioTickUs;
      }
    }
  }

  void audio_tick(int64_t t_us) {
    ++ticks_;
    const int64_t t_ms = t_us / 1000;
    // Participants' audio.
    for (auto& sp : streams_) {
      if (!sp || !sp->audio) continue;
      sp->pull_audio(t_us, timer_, *mixer_, *talkers_);
      sp->drain_rtcp();
    }
    // Legs: events, their own audio in, prompts.
    for (auto& lp : legs_) {
      if (!lp) continue;
      Leg& leg = *lp;
      leg.drain_events(t_ms, *sink_, mute_);
      leg.drain_rtcp();
      leg.forward_video(out_);
      leg.pull_audio(t_us, timer_, *mixer_, *talkers_);
      audio_sender_.send_to_session(leg);
    }
    const int64_t t0 = timer_.mark();
    talkers_->end_tick();
    for (auto& sp : streams_)
      if (sp && sp->audio && talkers_->is_active(static_cast<uint32_t>(sp->slot))) sp->last_active_ms = t_ms;
    timer_.add(Stage::kMix, t0);
    audio_sender_.mix_and_send(legs_);
  }

  // The participants' video, decoded once per video instant for every leg;
  // with decode_shown_only, only the streams on some leg's canvas.
  void decode_video(int64_t t_us) {
    if (t_us <= last_video_decode_us_) return;
    last_video_decode_us_ = t_us;
    if (config_.decode_shown_only || config_.choose_simulcast_layer) {
      const int64_t t0 = timer_.mark();
      std::fill(tiles_.begin(), tiles_.end(), TileNeed{});
      for (auto& lp : legs_) {
        if (!lp || !lp->video_encoder) continue;
        video_sender_.update_layout(*lp, streams_);
        for (const video::LayoutSlot& slot : lp->layout->slots()) {
          TileNeed& n = tiles_[slot.stream_id];
          n.shown = true;
          n.w = std::max(n.w, slot.cell.w);
          n.h = std::max(n.h, slot.cell.h);
        }
      }
      timer_.add(Stage::kCompose, t0);
    }
    for (auto& sp : streams_) {
      if (!sp || !sp->video) continue;
      const TileNeed& n = tiles_[static_cast<size_t>(sp->slot)];
      sp->decode_video(t_us, timer_, *sink_, !config_.decode_shown_only || n.shown, n.w, n.h,
                       config_.choose_simulcast_layer);
    }
  }

  SessionConfig config_;
  Clock* clock_;
  SessionSink* sink_;
  std::unique_ptr<audio::NMinus1Mixer> mixer_;
  std::unique_ptr<audio::TalkerDetector> talkers_;
  dtmf::MuteController mute_;
  std::vector<std::unique_ptr<Stream>> streams_;  // push slots 0..max_streams-1
  // Per stream slot, this video instant: on some leg's canvas, and its
  // largest tile there.
  struct TileNeed {
    bool shown = false;
    int w = 0, h = 0;
  };
  std::vector<TileNeed> tiles_;
  std::vector<std::unique_ptr<Leg>> legs_;        // push slots max_streams..
  // Per push slot, the generation of the stream or leg in it (0: empty).
  // Written by the session thread, read by the network threads.
  std::unique_ptr<std::atomic<uint32_t>[]> slot_generation_;
  uint32_t last_generation_ = 0;
  std::atomic<uint64_t> stale_pushes_{0};
  ThreadChecker thread_;  // the session thread (debug builds)
  StageTimer timer_;
  PacketOutput out_;
  LegBuilder builder_;
  LegAudioSender audio_sender_;
  LegVideoSender video_sender_;
  int64_t next_audio_us_ = 0;
  int64_t last_video_decode_us_ = -1;
  uint64_t join_counter_ = 0;
  uint64_t ticks_ = 0;
};

}  // namespace
}  // namespace session

StatusOr<std::unique_ptr<Session>> Session::create(const SessionConfig& config, Clock* clock, SessionSink* sink) {
  if (!clock) return invalid_argument("clock: must not be null");
  if (!sink) return invalid_argument("sink: must not be null");
  if (Status st = session::validate(config); !st.ok()) return st;
  audio::MixerConfig mc;
  mc.max_sources = static_cast<size_t>(config.max_streams + config.max_legs);
  mc.max_outputs = static_cast<size_t>(config.max_legs);
  auto mixer = audio::NMinus1Mixer::create(mc);
  if (!mixer.ok()) return mixer.status();
  audio::TalkerConfig tc;
  tc.max_sources = mc.max_sources;
  auto talkers = audio::TalkerDetector::create(tc);
  if (!talkers.ok()) return talkers.status();
  return std::unique_ptr<Session>(
      new session::SessionImpl(config, clock, sink, std::move(*mixer), std::move(*talkers)));
}

}  // namespace sipmix
