#include "tools/replay/replay.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <queue>

#include <nlohmann/json.hpp>

#include "audio_codec/codec.h"
#include "rtp/rtp_packet.h"
#include "session/codec_map.h"
#include "srtp/srtp_session.h"
#include "tools/replay/media_writer.h"
#include "tools/replay/pcap_io.h"
#include "tools/replay/picture.h"
#include "tools/replay/progress.h"
#include "tools/replay/sources.h"
#include "rtp_payload/frame_assembler.h"
#include "video_codec/video_decoder.h"

namespace sipmix::replay {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kStepUs = 5000;       // delivery granularity
constexpr int64_t kLookaheadUs = 60000;  // sources produce this far ahead
constexpr int64_t kStartUs = 1'000'000;  // clock origin (arbitrary, non-zero)
constexpr const char* kMarker = ".sipmix-replay";

const char* event_type(Event::Type t) {
  switch (t) {
    case Event::Type::kMuteChanged: return "mute_changed";
    case Event::Type::kDigit: return "digit";
    case Event::Type::kKeyframeRequest: return "keyframe_request";
    case Event::Type::kJoined: return "joined";
    case Event::Type::kLeft: return "left";
    case Event::Type::kAnnouncement: return "announcement";
  }
  return "?";
}

double level_dbfs(std::span<const int16_t> pcm) {
  if (pcm.empty()) return -120;
  double acc = 0;
  for (int16_t s : pcm) acc += static_cast<double>(s) * s;
  const double rms = std::sqrt(acc / pcm.size()) / 32768.0;
  return rms > 0 ? std::max(-120.0, 20 * std::log10(rms)) : -120;
}

AudioOutCodec out_codec(AudioCodec c) {
  switch (c) {
    case AudioCodec::kPcmu: return AudioOutCodec::kPcmu;
    case AudioCodec::kPcma: return AudioOutCodec::kPcma;
    case AudioCodec::kG722: return AudioOutCodec::kG722;
    case AudioCodec::kOpus: return AudioOutCodec::kOpus;
  }
  return AudioOutCodec::kPcmu;
}


// Everything the session sends, turned into the output files.
class Outputs final : public SessionSink {
 public:
  Outputs(const Manifest& m, const fs::path& dir, const Clock& clock, bool decode_sent_video)
      : m_(m), dir_(dir), clock_(clock), decode_sent_video_(decode_sent_video) {}

  Status open(srtp::SrtpSession* phone) {
    phone_ = phone;
    const LegConfig& c = m_.leg.config;
    MediaWriterConfig lw;
    lw.path = (dir_ / "leg.mkv").string();
    lw.audio = out_codec(c.audio_codec);
    lw.sample_rate_hz = audio::codec_info(session::to_engine(c.audio_codec)).sample_rate_hz;
    if (c.video) {
      lw.video = c.video_codec == VideoCodec::kVp8 ? VideoOutCodec::kVp8 : VideoOutCodec::kH264;
      lw.width = c.width;
      lw.height = c.height;
      lw.frame_rate = c.fps;
    }
    auto w = MediaWriter::create(lw);
    if (!w.ok()) return w.status();
    leg_writer_ = std::move(*w);
    MediaWriterConfig sw;
    sw.path = (dir_ / "session-stream.mka").string();
    sw.audio = AudioOutCodec::kOpus;
    sw.sample_rate_hz = 48000;
    sw.opus_pre_skip = 312;
    auto s = MediaWriter::create(sw);
    if (!s.ok()) return s.status();
    session_writer_ = std::move(*s);
    auto p = PcapWriter::create((dir_ / "leg.pcap").string());
    if (!p.ok()) return p.status();
    pcap_ = std::move(*p);
    events_.open(dir_ / "events.jsonl");
    if (!events_) return unavailable((dir_ / "events.jsonl").string() + ": cannot write");
    auto d = audio::make_audio_decoder(session::to_engine(c.audio_codec));
    if (!d.ok()) return d.status();
    leg_decoder_ = std::move(*d);
    auto od = audio::make_audio_decoder(audio::AudioCodec::kOpus);
    if (!od.ok()) return od.status();
    session_decoder_ = std::move(*od);
    if (c.video) {
      assembler_.emplace(c.video_codec == VideoCodec::kVp8 ? video::VideoCodec::kVp8 : video::VideoCodec::kH264);
      if (decode_sent_video_) {
        auto vd = video::VideoDecoder::create(c.video_codec == VideoCodec::kVp8 ? video::VideoCodec::kVp8
                                                                                : video::VideoCodec::kH264);
        if (!vd.ok()) return vd.status();
        video_decoder_ = std::move(*vd);
      }
      ContactSheet::Config cs;
      cs.interval_us = int64_t{m_.contact_sheet_every_s} * 1000000;
      sheet_ = std::make_unique<ContactSheet>(cs);
    }
    return {};
  }

  void on_rtp(const std::string& id, Direction dir, std::span<const uint8_t> packet) override {
    const int64_t t = clock_.now_us() - kStartUs;
    if (dir == Direction::kToLeg) {
      note(pcap_->write(kStartUs + t, IpEndpoint::v4(10, 0, 0, 1, 40000), IpEndpoint::v4(10, 0, 0, 2, 50000), packet));
      std::vector<uint8_t> clear(packet.begin(), packet.end());
      if (phone_) {
        auto r = phone_->unprotect_rtp(clear);
        if (!r.ok()) {
          ++undecryptable_;
          return;
        }
        clear.resize(r.size);
      }
      on_leg_packet(clear, t);
    } else if (dir == Direction::kToSession) {
      auto v = rtp::parse_rtp(packet);
      if (!v || v->payload_type != m_.leg.config.session_opus_payload_type) return;
      note(session_writer_->write_audio(v->payload, t - 20000, 960));
      std::array<int16_t, audio::kMaxDecodedSamples> pcm;
      const size_t n = session_decoder_->decode(v->payload, pcm);
      add_level(published_level_, t, level_dbfs({pcm.data(), n}));
    }
    (void)id;
  }

  // The contact sheet's snapshots, from the composed canvas unless the sent
  // video is decoded for it.
  bool wants_composed_frame(const std::string&, int64_t time_us) override {
    return sheet_ && !video_decoder_ && sheet_->due(time_us - kStartUs);
  }
  void on_composed_frame(const std::string&, int64_t time_us, const PictureView& c) override {
    note(sheet_->add({c.y, c.u, c.v, c.stride_y, c.stride_u, c.stride_v, c.width, c.height}, time_us - kStartUs));
  }

  // Keyframe requests to a participant go back to its sender.
  void on_rtcp(const std::string& id, Direction dir, std::span<const uint8_t>) override {
    if (dir == Direction::kToStream && on_stream_rtcp) on_stream_rtcp(id);
  }
  std::function<void(const std::string&)> on_stream_rtcp;

  void on_event(const Event& e) override {
    json j;
    j["t_s"] = static_cast<double>(e.time_us - kStartUs) / 1e6;
    j["type"] = event_type(e.type);
    j["id"] = e.id;
    if (e.type == Event::Type::kMuteChanged) {
      j["muted"] = e.muted;
      j["cause"] = e.cause;
      ++mute_changes_;
    }
    if (e.type == Event::Type::kAnnouncement) j["prompt"] = e.muted ? "muted" : "unmuted";
    if (e.type == Event::Type::kDigit) {
      j["digit"] = std::string(1, e.digit);
      j["duration_ms"] = e.duration_ms;
      ++digits_;
    }
    events_ << j.dump() << '\n';
    all_events_.push_back(e);
  }

  // Per 100 ms: stream levels and jitter delays for the timeline plot.
  void sample(const Session& s, int64_t t) {
    const SessionStats st = s.stats();
    for (const auto& ss : st.streams) {
      auto& row = rows_[ss.id];
      row.level.push_back({t, static_cast<float>(ss.level_dbfs)});
      row.delay.push_back({t, static_cast<float>(ss.current_delay_ms)});
    }
  }

  Status finish(const Session& s, int64_t end_us, ReplayResult* result) {
    note(leg_writer_->finish());
    note(session_writer_->finish());
    note(pcap_->finish());
    events_.close();
    result->stats = s.stats();
    result->mute_changes = mute_changes_;
    result->digits = digits_;
    if (!first_error_.ok()) return first_error_;

    json st;
    st["media_seconds"] = static_cast<double>(end_us) / 1e6;
    for (const auto& ss : result->stats.streams) {
      st["streams"].push_back({{"id", ss.id},
                               {"received", ss.received},
                               {"lost", ss.lost},
                               {"late", ss.late},
                               {"duplicate", ss.duplicate},
                               {"reordered", ss.reordered},
                               {"discarded", ss.discarded},
                               {"jitter_ms", ss.jitter_ms},
                               {"current_delay_ms", ss.current_delay_ms},
                               {"target_delay_ms", ss.target_delay_ms},
                               {"decoded_frames", ss.decoded_frames},
                               {"concealed_frames", ss.concealed_frames},
                               {"decode_errors", ss.decode_errors},
                               {"accelerate_ops", ss.accelerate_ops},
                               {"accelerated_ms", ss.accelerated_ms},
                               {"playout_delay_ms", ss.playout_delay_ms},
                               {"skipped_silent", ss.skipped_silent},
                               {"keyframe_requests", ss.keyframe_requests}});
    }
    for (const auto& l : result->stats.legs) {
      st["legs"].push_back({{"id", l.id},
                            {"muted", l.muted},
                            {"audio_packets_sent", l.audio_packets_sent},
                            {"audio_encodes_shared", l.audio_encodes_shared},
                            {"video_frames_encoded", l.video_frames_encoded},
                            {"video_keyframes", l.video_keyframes},
                            {"session_packets_sent", l.session_packets_sent},
                            {"dtmf_events_received", l.dtmf_events_received},
                            {"dtmf_packets_sent", l.dtmf_packets_sent},
                            {"srtp_auth_failures", l.srtp_auth_failures},
                            {"srtp_replays", l.srtp_replays}});
    }
    st["leg_output"] = {{"video_frames", leg_writer_->video_frames()},
                        {"audio_frames", leg_writer_->audio_frames()},
                        {"telephone_event_packets", te_packets_},
                        {"undecryptable", undecryptable_}};
    st["session_ticks"] = result->stats.ticks;
    st["distinct_audio_encodes"] = result->stats.distinct_audio_encodes;
    if (sheet_) note(sheet_->write((dir_ / "contact-sheet.png").string()));
    note(write_timeline_png((dir_ / "timeline.png").string(), timeline(end_us)));
    st["cpu"] = cpu_breakdown(result->stats.stages);  // last, so that it counts the pictures too
    std::ofstream(dir_ / "stats.json") << st.dump(2) << '\n';
    return first_error_;
  }

  void abort() {
    if (leg_writer_) leg_writer_->abort();
    if (session_writer_) session_writer_->abort();
    if (pcap_) pcap_->abort();
  }

 private:
  struct Row {
    std::vector<TimePoint> level, delay;
  };

  // Where the replay's CPU went. The session's stages are steady-clock time
  // on this single thread, the process time is user + system CPU; on a core
  // of its own the two agree. "not_codec" is everything besides audio and
  // video decode and encode: the engine, reading the inputs and writing
  // these outputs.
  static json cpu_breakdown(const StageTimes& t) {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto sec = [](const timeval& v) { return static_cast<double>(v.tv_sec) + static_cast<double>(v.tv_usec) / 1e6; };
    const double process_s = sec(ru.ru_utime) + sec(ru.ru_stime);
    auto s = [](int64_t us) { return static_cast<double>(us) / 1e6; };
    const double codec_s = s(t.audio_decode_us + t.audio_encode_us + t.video_decode_us + t.video_encode_us);
    json j;
    j["process_s"] = process_s;
    j["session_tick_s"] = s(t.total_us);
    j["stages_s"] = {{"audio_decode", s(t.audio_decode_us)}, {"audio_in", s(t.audio_in_us)},
                     {"mix", s(t.mix_us)},                   {"audio_encode", s(t.audio_encode_us)},
                     {"video_decode", s(t.video_decode_us)}, {"video_in", s(t.video_in_us)},
                     {"compose", s(t.compose_us)},           {"video_encode", s(t.video_encode_us)},
                     {"send", s(t.send_us)},                 {"outputs_in_sink", s(t.sink_us)},
                     {"session_other", s(t.other_us)}};
    j["replay_outside_tick_s"] = process_s - s(t.total_us);
    j["codec_s"] = codec_s;
    j["not_codec_share"] = process_s > 0 ? std::max(0.0, 1.0 - codec_s / process_s) : 0.0;
    return j;
  }

  void note(const Status& s) {
    if (!s.ok() && first_error_.ok()) first_error_ = s;
  }

  static void add_level(std::vector<TimePoint>& v, int64_t t, double dbfs) { v.push_back({t, static_cast<float>(dbfs)}); }

  void on_leg_packet(std::span<const uint8_t> clear, int64_t t) {
    auto v = rtp::parse_rtp(clear);
    if (!v) return;
    const LegConfig& c = m_.leg.config;
    if (v->payload_type == c.audio_payload_type) {
      const int samples = static_cast<int>(audio::codec_info(session::to_engine(c.audio_codec)).samples_per_20ms);
      note(leg_writer_->write_audio(v->payload, t - 20000, samples));
      std::array<int16_t, audio::kMaxDecodedSamples> pcm;
      const size_t n = leg_decoder_->decode(v->payload, pcm);
      add_level(heard_level_, t, level_dbfs({pcm.data(), n}));
    } else if (c.telephone_event_payload_type >= 0 && v->payload_type == c.telephone_event_payload_type) {
      ++te_packets_;
    } else if (c.video && v->payload_type == c.video_payload_type && assembler_) {
      const video::AssembledFrame* f = assembler_->push(*v);
      if (!f) return;
      note(leg_writer_->write_video(f->data, t, f->keyframe));
      if (video_decoder_ && video_decoder_->decode(f->data) == video::VideoDecoder::Result::kFrame && sheet_->due(t))
        note(sheet_->add(video_decoder_->frame(), t));
    }
  }

  TimelineData timeline(int64_t end_us) const {
    TimelineData d;
    d.duration_us = end_us;
    std::map<std::string, int> row_of;
    auto add_row = [&](const std::string& name) {
      row_of[name] = static_cast<int>(d.streams.size());
      d.streams.push_back({});
      d.streams.back().name = name;
      return &d.streams.back();
    };
    for (const auto& [id, row] : rows_) {
      if (row.level.empty()) continue;
      bool audio = false;
      for (const auto& p : row.level) audio |= p.value > -126;
      if (!audio && id.find("video") == std::string::npos) continue;
      TimelineStream* s = add_row(id);
      if (audio) s->level_dbfs = row.level;
      s->jitter_delay_ms = row.delay;
    }
    const std::string& leg = m_.leg.config.id;
    TimelineStream* pub = add_row(leg + " -> session");
    pub->level_dbfs = published_level_;
    TimelineStream* heard = add_row(leg + " hears");
    heard->level_dbfs = heard_level_;
    // Mute intervals per id, from the events.
    std::map<std::string, int64_t> since;
    for (const Event& e : all_events_) {
      const int64_t t = e.time_us - kStartUs;
      if (e.type == Event::Type::kMuteChanged) {
        if (e.muted) {
          since[e.id] = t;
        } else if (since.count(e.id)) {
          const int row = e.id == leg ? row_of[leg + " -> session"] : (row_of.count(e.id) ? row_of[e.id] : -1);
          if (row >= 0) d.streams[row].muted.push_back({since[e.id], t});
          since.erase(e.id);
        }
        d.markers.push_back({t, std::string(e.muted ? "mute " : "unmute ") + e.cause,
                             e.id == leg ? row_of[leg + " -> session"] : -1});
      } else if (e.type == Event::Type::kDigit) {
        d.markers.push_back({t, std::string(1, e.digit), row_of[leg + " -> session"]});
      } else if (e.type == Event::Type::kJoined || e.type == Event::Type::kLeft) {
        if (t > 0) d.markers.push_back({t, std::string(e.type == Event::Type::kJoined ? "join " : "leave ") + e.id, -1});
      }
    }
    for (const auto& [id, t0] : since) {
      const int row = id == leg ? row_of[leg + " -> session"] : (row_of.count(id) ? row_of.at(id) : -1);
      if (row >= 0) d.streams[row].muted.push_back({t0, end_us});
    }
    return d;
  }

  const Manifest& m_;
  fs::path dir_;
  const Clock& clock_;
  const bool decode_sent_video_;
  srtp::SrtpSession* phone_ = nullptr;
  std::unique_ptr<MediaWriter> leg_writer_, session_writer_;
  std::unique_ptr<PcapWriter> pcap_;
  std::ofstream events_;
  std::unique_ptr<audio::AudioDecoder> leg_decoder_, session_decoder_;
  std::optional<video::FrameAssembler> assembler_;
  std::unique_ptr<video::VideoDecoder> video_decoder_;
  std::unique_ptr<ContactSheet> sheet_;
  std::map<std::string, Row> rows_;
  std::vector<TimePoint> published_level_, heard_level_;
  std::vector<Event> all_events_;
  Status first_error_;
  int mute_changes_ = 0, digits_ = 0;
  uint64_t te_packets_ = 0, undecryptable_ = 0;
};

struct Scheduled {
  int64_t t_us;
  uint64_t order;
  TimedPacket packet;
  bool operator>(const Scheduled& o) const { return t_us != o.t_us ? t_us > o.t_us : order > o.order; }
};

// Media time the replay ends: the manifest's, or when the last input ends.
StatusOr<int64_t> replay_duration(const Manifest& m) {
  if (m.duration_s > 0) return static_cast<int64_t>(m.duration_s * 1e6);
  int64_t end = 0;
  for (const auto& p : m.participants) {
    if (p.synth || p.loop) return invalid_argument(m.path + ": duration_s: needed with synth or looped participants");
    if (!p.media.empty()) {
      auto r = MediaReader::open(p.media);
      if (!r.ok()) return r.status();
      for (const auto& s : (*r)->streams())
        if (s.duration_us > 0)
          end = std::max(end, static_cast<int64_t>(p.join_at_s * 1e6) + s.duration_us - static_cast<int64_t>(p.offset_s * 1e6));
    }
    for (const auto* pc : {&p.audio_pcap, &p.video_pcap}) {
      if (!*pc) continue;
      auto src = make_pcap_source(**pc, Target::kAudio, 0, static_cast<int64_t>(p.join_at_s * 1e6));
      if (!src.ok()) return src.status();
      end = std::max(end, (*src)->end_us());
    }
  }
  if (end <= 0) return invalid_argument(m.path + ": duration_s: the inputs have no known length; set duration_s");
  return end;
}

}  // namespace

Manifest demo_manifest() {
  Manifest m;
  m.path = "demo";
  m.duration_s = 16;
  m.seed = 1;
  m.contact_sheet_every_s = 2;
  const char* names[] = {"Ada", "Brian", "Chloe", "Dmitri", "Eve", "Farah"};
  const char* speech[] = {"", "", "", "", "/usr/share/asterisk/sounds/en_US_f_Allison/conf-thereare.wav",
                          "/usr/share/asterisk/sounds/en_US_f_Allison/conf-enteringno.wav"};
  for (int i = 0; i < 6; ++i) {
    ParticipantInput p;
    p.id = names[i];
    p.synth = true;
    if (*speech[i] && fs::exists(speech[i])) p.speech = speech[i];
    if (i == 5) p.join_at_s = 5;  // joins late: the grid grows from 5 to 6 tiles
    if (i == 1) p.impairment = {0.05, 40, 0.02, 0.01, 0, 0};
    m.participants.push_back(p);
  }
  LegConfig& c = m.leg.config;
  c.id = "sip";
  c.participant = "sip";
  c.video = true;
  c.observe_force_mute = true;
  c.audio_codec = AudioCodec::kPcmu;
  c.audio_payload_type = 0;
  c.audio_clock_hz = 8000;
  c.telephone_event_payload_type = 101;
  c.telephone_event_clock_hz = 8000;
  c.video_codec = VideoCodec::kH264;
  c.video_payload_type = 96;
  m.leg.synth_tone_hz = 1700;
  using A = TimelineEntry::Action;
  m.timeline.push_back({3.0, A::kPressDtmf, "sip", true, false, {}, "*6"});   // mute
  m.timeline.push_back({7.0, A::kPressDtmf, "sip", true, false, {}, "*6"});   // unmute
  m.timeline.push_back({11.0, A::kForceMute, "sip", true, false, {}, ""});    // moderator
  m.timeline.push_back({13.0, A::kPlayDtmf, "sip", true, false, {}, "1p2"});  // to the caller
  return m;
}

StatusOr<ReplayResult> run_replay(const Manifest& m, const ReplayOptions& opt) {
  const auto wall_start = std::chrono::steady_clock::now();
  auto duration = replay_duration(m);
  if (!duration.ok()) return duration.status();
  const int64_t end_us = *duration;

  // Output folder: refuse to clobber a folder we did not make.
  const fs::path out = fs::absolute(opt.out_dir);
  std::error_code ec;
  if (fs::exists(out, ec)) {
    if (!fs::is_directory(out, ec)) return invalid_argument("--out: " + out.string() + " exists and is not a folder");
    if (!fs::is_empty(out, ec) && !fs::exists(out / kMarker, ec) && !opt.force)
      return invalid_argument("--out: " + out.string() + " is not empty and was not written by sipmix-replay (use --force)");
  }
  const fs::path tmp = out.string() + ".partial";
  fs::remove_all(tmp, ec);
  if (!fs::create_directories(tmp, ec) && ec) return unavailable("--out: cannot create " + tmp.string() + ": " + ec.message());
  struct Cleanup {
    fs::path dir;
    bool keep = false;
    ~Cleanup() {
      std::error_code e;
      if (!keep) fs::remove_all(dir, e);
    }
  } cleanup{tmp};

  SimulatedClock clock(kStartUs);
  Outputs outputs(m, tmp, clock, opt.decode_sent_video);
  SessionConfig session_config = m.session;
  session_config.measure_stages = true;  // stats.json's "cpu" block
  auto session = Session::create(session_config, &clock, &outputs);
  if (!session.ok()) return session.status();
  Session& s = **session;

  // The phone side of a secure leg: protects what it sends, decrypts what it gets.
  std::unique_ptr<srtp::SrtpSession> phone;
  if (m.leg.config.secure) {
    const LegConfig& c = m.leg.config;
    const auto suite = c.srtp_suite == SrtpSuite::kAesCm128HmacSha1_32 ? srtp::SrtpSuite::kAesCm128HmacSha1_32
                                                                         : srtp::SrtpSuite::kAesCm128HmacSha1_80;
    auto to_leg = srtp::parse_sdes_key(suite, c.srtp_key_to_leg);
    if (!to_leg.ok()) return invalid_argument(m.path + ": sip_leg.srtp.key_to_leg: " + to_leg.status().message());
    auto from_leg = srtp::parse_sdes_key(suite, c.srtp_key_from_leg);
    if (!from_leg.ok()) return invalid_argument(m.path + ": sip_leg.srtp.key_from_leg: " + from_leg.status().message());
    auto p = srtp::SrtpSession::create(*from_leg, *to_leg);
    if (!p.ok()) return p.status();
    phone = std::move(*p);
  }
  if (Status st = outputs.open(phone.get()); !st.ok()) return st;
  std::ofstream(tmp / kMarker) << "written by sipmix-replay\n";

  auto leg_handle = s.add_leg(m.leg.config);
  if (!leg_handle.ok()) return invalid_argument(m.path + ": sip_leg: " + leg_handle.status().message());

  // Sources, each with its own seeded impairment.
  struct Src {
    std::unique_ptr<PacketSource> source;
    std::unique_ptr<Impairer> impair;
    bool live = true;
  };
  std::vector<Src> sources;
  auto add_source = [&](StatusOr<std::unique_ptr<PacketSource>> src, const Impairment& imp) -> Status {
    if (!src.ok()) return src.status();
    sources.push_back({std::move(*src), imp.any() ? std::make_unique<Impairer>(imp, m.seed * 7919 + sources.size()) : nullptr});
    return {};
  };
  for (size_t i = 0; i < m.participants.size(); ++i) {
    const ParticipantInput& p = m.participants[i];
    const int pi = static_cast<int>(i);
    const int64_t join = static_cast<int64_t>(p.join_at_s * 1e6);
    Status st;
    if (p.synth) st = add_source(make_synth_source(p, pi, end_us), p.impairment);
    else if (!p.media.empty()) st = add_source(make_file_source(p, pi, end_us), p.impairment);
    if (st.ok() && p.audio_pcap) st = add_source(make_pcap_source(*p.audio_pcap, Target::kAudio, pi, join), p.impairment);
    if (st.ok() && p.video_pcap) st = add_source(make_pcap_source(*p.video_pcap, Target::kVideo, pi, join), p.impairment);
    if (!st.ok()) return Status(st.code(), m.path + ": participants[" + std::to_string(i) + "]: " + st.message());
  }
  {
    Status st;
    if (m.leg.audio_pcap) st = add_source(make_pcap_source(*m.leg.audio_pcap, Target::kLeg, -1, 0), m.leg.impairment);
    else if (!m.leg.media.empty() || m.leg.synth_tone_hz > 0) st = add_source(make_leg_voice_source(m.leg, end_us), m.leg.impairment);
    int64_t at = static_cast<int64_t>(m.leg.event_pcaps_at_s * 1e6);
    for (const auto& ep : m.leg.event_pcaps) {
      if (!st.ok()) break;
      PcapInput in = ep;
      if (!in.payload_type) in.payload_type = m.leg.config.telephone_event_payload_type;
      auto src = make_pcap_source(in, Target::kLeg, -1, at);
      if (src.ok()) at = (*src)->end_us() + static_cast<int64_t>(m.leg.event_pcaps_gap_s * 1e6);
      st = add_source(std::move(src), m.leg.impairment);
    }
    for (const auto& e : m.timeline)
      if (st.ok() && e.action == TimelineEntry::Action::kPressDtmf)
        st = add_source(make_key_press_source(m.leg.config, e.digits, static_cast<int64_t>(e.at_s * 1e6)), {});
    if (!st.ok()) return Status(st.code(), m.path + ": sip_leg: " + st.message());
  }

  outputs.on_stream_rtcp = [&](const std::string& stream_id) {
    for (auto& src : sources) {
      const int pi = src.source->participant();
      if (pi >= 0 && stream_id == m.participants[pi].id + "/video") src.source->on_keyframe_request();
    }
  };

  // Participants' presence: join/leave from the participant entries and the timeline.
  std::vector<std::pair<int64_t, std::pair<bool, int>>> presence;  // (t, (join?, participant))
  for (size_t i = 0; i < m.participants.size(); ++i) {
    presence.push_back({static_cast<int64_t>(m.participants[i].join_at_s * 1e6), {true, static_cast<int>(i)}});
    if (m.participants[i].leave_at_s)
      presence.push_back({static_cast<int64_t>(*m.participants[i].leave_at_s * 1e6), {false, static_cast<int>(i)}});
  }
  for (const auto& e : m.timeline) {
    if (e.action != TimelineEntry::Action::kJoin && e.action != TimelineEntry::Action::kLeave) continue;
    for (size_t i = 0; i < m.participants.size(); ++i)
      if (m.participants[i].id == e.target)
        presence.push_back({static_cast<int64_t>(e.at_s * 1e6), {e.action == TimelineEntry::Action::kJoin, static_cast<int>(i)}});
  }
  std::stable_sort(presence.begin(), presence.end(), [](auto& a, auto& b) { return a.first < b.first; });
  struct Handles {
    PushHandle audio, video;
    bool joined = false;
  };
  std::vector<Handles> handles(m.participants.size());
  auto join = [&](int i) -> Status {
    const ParticipantInput& p = m.participants[i];
    Handles& h = handles[i];
    if (h.joined) return {};
    const bool has_audio = p.synth || p.audio_pcap || (!p.media.empty() && p.audio);
    const bool has_video = p.synth || p.video_pcap || (!p.media.empty() && p.video);
    if (has_audio) {
      StreamConfig a;
      a.id = p.id + "/audio";
      a.participant = p.id;
      a.kind = sipmix::MediaKind::kAudio;
      a.audio_codec = p.audio_pcap ? p.pcap_audio_codec : AudioCodec::kOpus;
      a.payload_type = p.audio_pcap && p.audio_pcap->payload_type ? static_cast<uint8_t>(*p.audio_pcap->payload_type) : 111;
      a.clock_rate_hz = a.audio_codec == AudioCodec::kOpus ? 48000 : 8000;
      auto r = s.add_stream(a);
      if (!r.ok()) return r.status();
      h.audio = *r;
    }
    if (has_video) {
      StreamConfig v;
      v.id = p.id + "/video";
      v.participant = p.id;
      v.kind = sipmix::MediaKind::kVideo;
      VideoCodec vc = VideoCodec::kVp8;
      if (p.video_pcap) {
        vc = p.pcap_video_codec;
      } else if (!p.media.empty()) {
        auto r = MediaReader::open(p.media);
        if (!r.ok()) return r.status();
        const int vi = (*r)->find_stream(MediaKind::kVideo);
        if (vi < 0) vc = VideoCodec::kNone;
        else if ((*r)->streams()[vi].codec == MediaCodec::kH264) vc = VideoCodec::kH264;
      }
      if (vc != VideoCodec::kNone) {
        v.video_codec = vc;
        v.payload_type = p.video_pcap && p.video_pcap->payload_type ? static_cast<uint8_t>(*p.video_pcap->payload_type)
                         : vc == VideoCodec::kH264                    ? 102
                                                                      : 100;
        v.clock_rate_hz = 90000;
        auto r = s.add_stream(v);
        if (!r.ok()) return r.status();
        h.video = *r;
      }
    }
    h.joined = true;
    return {};
  };
  auto leave = [&](int i) {
    Handles& h = handles[i];
    if (!h.joined) return;
    if (h.audio.valid()) (void)s.remove_stream(m.participants[i].id + "/audio");
    if (h.video.valid()) (void)s.remove_stream(m.participants[i].id + "/video");
    h = {};
  };

  std::vector<const TimelineEntry*> actions;
  for (const auto& e : m.timeline) actions.push_back(&e);
  std::stable_sort(actions.begin(), actions.end(), [](auto* a, auto* b) { return a->at_s < b->at_s; });

  std::priority_queue<Scheduled, std::vector<Scheduled>, std::greater<>> queue;
  uint64_t order = 0;
  std::vector<TimedPacket> produced, impaired;
  size_t next_presence = 0, next_action = 0;
  ProgressBar progress(end_us, opt.progress && isatty(2));
  int64_t next_sample = 0;

  for (int64_t t = 0; t <= end_us; t += kStepUs) {
    while (next_presence < presence.size() && presence[next_presence].first <= t) {
      const auto& [join_now, i] = presence[next_presence++].second;
      if (join_now) {
        if (Status st = join(i); !st.ok()) return Status(st.code(), m.path + ": participants[" + std::to_string(i) + "]: " + st.message());
      } else {
        leave(i);
      }
    }
    while (next_action < actions.size() && static_cast<int64_t>(actions[next_action]->at_s * 1e6) <= t) {
      const TimelineEntry& e = *actions[next_action++];
      using A = TimelineEntry::Action;
      const std::string target = e.target.empty() ? m.leg.config.id : e.target;
      Status st;
      switch (e.action) {
        case A::kForceMute: {
          // A participant's id mutes its audio stream.
          std::string id = target;
          for (const auto& p : m.participants)
            if (p.id == target) id = target + "/audio";
          st = s.force_mute(id, e.muted);
          break;
        }
        case A::kForceMuteSession: {
          std::vector<std::string> ex;
          for (const auto& x : e.excluded) {
            ex.push_back(x);
            ex.push_back(x + "/audio");
            ex.push_back(x + "/video");
          }
          st = s.force_mute_session(e.muted, e.active, ex);
          break;
        }
        case A::kPlayDtmf: st = s.play_dtmf(m.leg.config.id, e.digits); break;
        case A::kKeyframeRequest: st = s.request_keyframe(m.leg.config.id); break;
        default: break;
      }
      if (!st.ok()) return Status(st.code(), m.path + ": timeline: " + st.message());
    }
    for (auto& src : sources) {
      if (!src.live) continue;
      auto r = src.source->produce(t + kLookaheadUs, produced);
      if (!r.ok()) return r.status();
      src.live = *r;
      if (src.impair) src.impair->apply(produced, impaired);
      std::vector<TimedPacket>& ready = src.impair ? impaired : produced;
      for (auto& p : ready) queue.push({p.t_us, order++, std::move(p)});
      ready.clear();
    }
    clock.set_us(kStartUs + t);
    while (!queue.empty() && queue.top().t_us <= t) {
      TimedPacket p = std::move(const_cast<Scheduled&>(queue.top()).packet);
      queue.pop();
      if (p.target == Target::kLeg) {
        if (phone) {
          const size_t n = p.data.size();
          p.data.resize(n + srtp::kSrtpMaxOverhead);
          const auto r = phone->protect_rtp(p.data, n);
          if (!r.ok()) continue;
          p.data.resize(r.size);
        }
        s.push_rtp(*leg_handle, p.data);
        continue;
      }
      const Handles& h = handles[p.participant];
      if (!h.joined) continue;  // not in the session (yet, or any more)
      const PushHandle ph = p.target == Target::kAudio ? h.audio : h.video;
      if (ph.valid()) s.push_rtp(ph, p.data);
    }
    s.tick();
    if (t >= next_sample) {
      outputs.sample(s, t);
      next_sample += 100000;
    }
    progress.update(t);
  }
  progress.finish();

  ReplayResult result;
  if (Status st = outputs.finish(s, end_us, &result); !st.ok()) {
    outputs.abort();
    return st;
  }
  session->reset();

  // Into place: replace a previous replay's folder.
  if (fs::exists(out, ec)) fs::remove_all(out, ec);
  fs::rename(tmp, out, ec);
  if (ec) return unavailable("--out: cannot move results into " + out.string() + ": " + ec.message());
  cleanup.keep = true;
  result.out_dir = out.string();
  for (const auto& f : fs::directory_iterator(out))
    if (f.path().filename() != kMarker) result.files.push_back(f.path().filename().string());
  std::sort(result.files.begin(), result.files.end());
  result.media_seconds = static_cast<double>(end_us) / 1e6;
  result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return result;
}

}  // namespace sipmix::replay
