#include "tools/replay/replay.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <queue>

#include <nlohmann/json.hpp>

#include "sipmix/peer.h"
#include "tests/support/pcap.h"
#include "tools/replay/media_writer.h"
#include "tools/replay/picture.h"
#include "tools/replay/progress.h"
#include "tools/replay/sources.h"

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

// Writes a small file, checking every step: a full disk must not leave an
// empty stats.json behind a zero exit status.
Status write_file(const fs::path& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return unavailable(path.string() + ": cannot create file (" + std::strerror(errno) + ")");
  int err = 0;
  if (std::fwrite(text.data(), 1, text.size(), f) != text.size()) err = errno;
  if (std::fflush(f) != 0 && !err) err = errno;
  if (std::fclose(f) != 0 && !err) err = errno;
  if (err) return unavailable(path.string() + ": write failed (" + std::strerror(err) + ")");
  return {};
}


// Everything the session sends, turned into the output files.
class Outputs final : public SessionSink {
 public:
  Outputs(const Manifest& m, const fs::path& dir, const Clock& clock, bool decode_sent_video)
      : m_(m), dir_(dir), clock_(clock), decode_sent_video_(decode_sent_video) {}

  Status open(PeerSrtp* phone) {
    phone_ = phone;
    const LegConfig& c = m_.leg.config;
    // What the phone hears and sees, and the leg's voice in the session.
    PeerReceiverConfig heard;
    heard.audio_codec = c.audio_codec;
    auto d = PeerReceiver::create(heard);
    if (!d.ok()) return d.status();
    leg_audio_ = std::move(*d);
    PeerReceiverConfig published;
    published.audio_codec = AudioCodec::kOpus;
    auto od = PeerReceiver::create(published);
    if (!od.ok()) return od.status();
    session_audio_ = std::move(*od);
    if (c.video) {
      PeerReceiverConfig seen;
      seen.kind = sipmix::MediaKind::kVideo;
      seen.video_codec = c.video_codec == VideoCodec::kVp8 ? VideoCodec::kVp8 : VideoCodec::kH264;
      seen.decode_video = decode_sent_video_;
      auto vd = PeerReceiver::create(seen);
      if (!vd.ok()) return vd.status();
      leg_video_ = std::move(*vd);
    }
    MediaWriterConfig lw;
    lw.path = (dir_ / "leg.mkv").string();
    lw.audio = out_codec(c.audio_codec);
    lw.sample_rate_hz = leg_audio_->sample_rate_hz();
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
    events_path_ = (dir_ / "events.jsonl").string();
    events_ = std::fopen(events_path_.c_str(), "wb");
    if (!events_) return unavailable(events_path_ + ": cannot create file (" + std::strerror(errno) + ")");
    if (c.video) {
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
      if (phone_ && !phone_->unprotect_rtp(clear)) {
        ++undecryptable_;
        return;
      }
      on_leg_packet(clear, t);
    } else if (dir == Direction::kToSession) {
      auto v = parse_rtp_packet(packet);
      if (!v || v->payload_type != m_.leg.config.session_opus_payload_type) return;
      note(session_writer_->write_audio(v->payload, t - 20000, 960));
      std::array<int16_t, PeerReceiver::kMaxDecodedSamples> pcm;
      const size_t n = session_audio_->decode_audio(v->payload, pcm);
      add_level(published_level_, t, level_dbfs({pcm.data(), n}));
    }
    (void)id;
  }

  // The contact sheet's snapshots, from the composed canvas unless the sent
  // video is decoded for it.
  bool wants_composed_frame(const std::string&, int64_t time_us) override {
    return sheet_ && !decode_sent_video_ && sheet_->due(time_us - kStartUs);
  }
  void on_composed_frame(const std::string&, int64_t time_us, const PictureView& c) override {
    note(sheet_->add(c, time_us - kStartUs));
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
    const std::string line = j.dump() + '\n';
    if (events_ && std::fwrite(line.data(), 1, line.size(), events_) != line.size())
      note(unavailable(events_path_ + ": write failed (" + std::strerror(errno) + ")"));
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
    note(close_events());
    result->stats = s.stats();
    result->mute_changes = mute_changes_;
    result->digits = digits_;
    if (!first_error_.ok()) return first_error_;

    json st;
    st["media_seconds"] = static_cast<double>(end_us) / 1e6;
    for (const auto& ss : result->stats.streams) {
      json row = {{"id", ss.id},
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
                  {"keyframe_requests", ss.keyframe_requests}};
      if (ss.id.ends_with("/video")) {  // the ids this tool gives (add_stream below)
        row["unchanged_frames"] = ss.unchanged_frames;
        row["frames_not_shown"] = ss.frames_not_shown;
        row["switches"] = ss.switches;
        row["switch_latency_ms"] = ss.switch_latency_ms;
      }
      st["streams"].push_back(std::move(row));
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
    st["unmatched_payload_type_packets"] = json::object();
    for (const auto& [id, n] : unmatched_) st["unmatched_payload_type_packets"][id] = n;
    st["session_ticks"] = result->stats.ticks;
    st["distinct_audio_encodes"] = result->stats.distinct_audio_encodes;
    if (sheet_) note(sheet_->write((dir_ / "contact-sheet.png").string()));
    note(write_timeline_png((dir_ / "timeline.png").string(), timeline(end_us)));
    st["cpu"] = cpu_breakdown(result->stats.stages);  // last, so that it counts the pictures too
    if (first_error_.ok()) note(write_file(dir_ / "stats.json", st.dump(2) + "\n"));
    return first_error_;
  }

  void abort() {
    if (leg_writer_) leg_writer_->abort();
    if (session_writer_) session_writer_->abort();
    if (pcap_) pcap_->abort();
    (void)close_events();
  }
  ~Outputs() { (void)close_events(); }

  // The first write error so far: the replay stops at once.
  const Status& error() const { return first_error_; }
  // A packet whose payload type matches nothing negotiated for its stream.
  void unmatched_payload_type(const std::string& id) { ++unmatched_[id]; }

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

  Status close_events() {
    if (!events_) return {};
    const bool flushed = std::fflush(events_) == 0;
    const int flush_errno = errno;
    const bool closed = std::fclose(events_) == 0;
    events_ = nullptr;
    if (!flushed || !closed)
      return unavailable(events_path_ + ": write failed (" + std::strerror(flushed ? errno : flush_errno) + ")");
    return {};
  }

  static void add_level(std::vector<TimePoint>& v, int64_t t, double dbfs) { v.push_back({t, static_cast<float>(dbfs)}); }

  void on_leg_packet(std::span<const uint8_t> clear, int64_t t) {
    auto v = parse_rtp_packet(clear);
    if (!v) return;
    const LegConfig& c = m_.leg.config;
    if (v->payload_type == c.audio_payload_type) {
      const int samples = static_cast<int>(leg_audio_->frame_samples());
      note(leg_writer_->write_audio(v->payload, t - 20000, samples));
      std::array<int16_t, PeerReceiver::kMaxDecodedSamples> pcm;
      const size_t n = leg_audio_->decode_audio(v->payload, pcm);
      add_level(heard_level_, t, level_dbfs({pcm.data(), n}));
    } else if (c.telephone_event_payload_type >= 0 && v->payload_type == c.telephone_event_payload_type) {
      ++te_packets_;
    } else if (c.video && v->payload_type == c.video_payload_type && leg_video_) {
      const ReceivedFrame* f = leg_video_->push_video(clear);
      if (!f) return;
      note(leg_writer_->write_video(f->data, t, f->keyframe));
      PictureView picture;
      if (decode_sent_video_ && leg_video_->decode_video(f->data, &picture) && sheet_->due(t))
        note(sheet_->add(picture, t));
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
  PeerSrtp* phone_ = nullptr;
  std::unique_ptr<MediaWriter> leg_writer_, session_writer_;
  std::unique_ptr<PcapWriter> pcap_;
  std::FILE* events_ = nullptr;
  std::string events_path_;
  std::map<std::string, int64_t> unmatched_;
  std::unique_ptr<PeerReceiver> leg_audio_, session_audio_;  // the leg's codec; Opus
  std::unique_ptr<PeerReceiver> leg_video_;                  // c.video only
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

// Longest replay whose length comes from the inputs, like duration_s's limit.
constexpr int64_t kMaxDurationUs = 86400LL * 1'000'000;

// Values from the manifest are quoted in errors: keep the message one line.
std::string one_line(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return s;
}

std::string seconds(int64_t us) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g s", static_cast<double>(us) / 1e6);
  return buf;
}

bool stopped(const ReplayOptions& opt) { return opt.stop && opt.stop->load(std::memory_order_relaxed) != 0; }
Status interrupted() { return unavailable("interrupted"); }

// A media file must open and hold at least one packet; `decode_audio` reads
// it as the replay's audio-only inputs do.
struct MediaProbe {
  bool audio = false, video = false;
  MediaCodec video_codec = MediaCodec::kOther;
  std::string video_codec_name;
  int64_t duration_us = 0;  // 0: unknown
};
StatusOr<MediaProbe> probe_media(const std::string& path, bool decode_audio) {
  auto r = MediaReader::open(path, decode_audio);
  if (!r.ok()) return r.status();
  MediaProbe p;
  for (const auto& s : (*r)->streams()) {
    if (s.kind == MediaKind::kAudio) p.audio = true;
    if (s.kind == MediaKind::kVideo && !p.video) {
      p.video = true;
      p.video_codec = s.codec;
      p.video_codec_name = s.codec_name;
    }
    p.duration_us = std::max<int64_t>(p.duration_us, s.duration_us);
  }
  MediaPacket pkt;
  auto more = (*r)->next(pkt);
  if (!more.ok()) return more.status();
  if (!*more) return invalid_argument(path + ": no audio or video packets (empty or cut short)");
  return p;
}

// Opens and checks every input before anything is written, learns the
// payload type of captures that do not give one, and returns the media time
// at which the replay ends. Errors are one line naming the field and path.
StatusOr<int64_t> check_inputs(Manifest& m, const ReplayOptions& opt) {
  auto bad = [&](const std::string& field, const std::string& what) {
    return invalid_argument(one_line(m.path + ": " + field + ": " + what));
  };
  int64_t inputs_end = 0;
  bool endless = false;
  std::vector<bool> sends_audio(m.participants.size());
  for (size_t i = 0; i < m.participants.size(); ++i) {
    if (stopped(opt)) return interrupted();
    ParticipantInput& p = m.participants[i];
    const std::string f = "participants[" + std::to_string(i) + "]";
    const int64_t join = static_cast<int64_t>(p.join_at_s * 1e6);
    bool audio = false, video = false;
    std::string why_nothing;
    if (p.synth) {
      audio = p.audio;
      video = p.video;
      endless = true;
      if (!p.speech.empty()) {
        auto s = probe_media(p.speech, true);
        if (!s.ok()) return bad(f + ".speech", s.status().message());
        if (!s->audio) return bad(f + ".speech", p.speech + ": no audio stream");
      }
    } else if (!p.media.empty()) {
      auto s = probe_media(p.media, false);
      if (!s.ok()) return bad(f + ".media", s.status().message());
      if (p.video && s->video && s->video_codec != MediaCodec::kVp8 && s->video_codec != MediaCodec::kH264)
        return bad(f + ".media", p.media + ": video codec " + s->video_codec_name +
                                     " is not sent as RTP (use VP8 or H.264, or set \"video\": false)");
      audio = p.audio && s->audio;
      video = p.video && s->video;
      if (!audio && !video)
        why_nothing = std::string("the media has ") + (s->audio ? "audio" : "no audio") + " and " +
                      (s->video ? "video" : "no video") + ", and uses " +
                      (p.audio && p.video ? "both" : p.audio ? "only its audio" : "only its video");
      const int64_t offset = static_cast<int64_t>(p.offset_s * 1e6);
      if (s->duration_us > 0 && offset >= s->duration_us)
        return bad(f + ".offset_s", seconds(offset) + " is past the end of " + p.media + " (" +
                                        seconds(s->duration_us) + ")");
      if (p.loop) endless = true;
      else if (s->duration_us > 0) inputs_end = std::max(inputs_end, join + s->duration_us - offset);
    }
    for (auto [pc, key] : {std::pair{&p.audio_pcap, "audio_pcap"}, std::pair{&p.video_pcap, "video_pcap"}}) {
      if (!*pc) continue;
      auto scan = scan_capture(**pc);
      if (!scan.ok()) return bad(f + "." + key, scan.status().message());
      (*pc)->stream_payload_type = scan->payload_type;
      inputs_end = std::max(inputs_end, join + scan->length_us);
      // A static payload type (RFC 3551) names its codec: decoding it as
      // another would be noise.
      const int pt = scan->payload_type;
      if (pc == &p.audio_pcap && pt < 96) {
        const char* codec = pt == 0 ? "pcmu" : pt == 8 ? "pcma" : pt == 9 ? "g722" : nullptr;
        const AudioCodec c = p.pcap_audio_codec;
        const char* given = c == AudioCodec::kPcmu ? "pcmu" : c == AudioCodec::kPcma ? "pcma" : c == AudioCodec::kG722 ? "g722" : "opus";
        if (!codec)
          return bad(f + "." + key, (*pc)->path + ": its RTP has static payload type " + std::to_string(pt) +
                                        ", not a codec sipmix decodes (opus, pcmu, pcma, g722)");
        if (std::string(codec) != given)
          return bad(f + ".audio_codec", std::string(given) + ", but the capture's payload type " + std::to_string(pt) +
                                             " is " + codec + " (RFC 3551)");
      }
      if (pc == &p.video_pcap && pt < 96)
        return bad(f + "." + key, (*pc)->path + ": its RTP has static payload type " + std::to_string(pt) +
                                      ", not VP8 or H.264 (dynamic, 96..127)");
    }
    audio |= p.audio_pcap.has_value();
    video |= p.video_pcap.has_value();
    sends_audio[i] = audio;
    if (!audio && !video) return bad(f, "contributes nothing: " + why_nothing);
  }

  if (stopped(opt)) return interrupted();
  LegInput& leg = m.leg;
  const LegConfig& c = leg.config;
  if (!leg.media.empty()) {
    auto s = probe_media(leg.media, true);
    if (!s.ok()) return bad("sip_leg.media", s.status().message());
    if (!s->audio) return bad("sip_leg.media", leg.media + ": no audio stream");
  }
  for (auto [path, key] : {std::pair{&c.muted_prompt_path, "muted"}, std::pair{&c.unmuted_prompt_path, "unmuted"}}) {
    if (path->empty()) continue;
    auto s = probe_media(*path, true);
    if (!s.ok()) return bad(std::string("sip_leg.prompts.") + key, s.status().message());
    if (!s->audio) return bad(std::string("sip_leg.prompts.") + key, *path + ": no audio stream");
  }
  if (leg.audio_pcap) {
    auto scan = scan_capture(*leg.audio_pcap);
    if (!scan.ok()) return bad("sip_leg.audio_pcap", scan.status().message());
    if (scan->payload_type != c.audio_payload_type)
      return bad("sip_leg.audio_pcap", leg.audio_pcap->path + ": its RTP has payload type " +
                                           std::to_string(scan->payload_type) + ", not sip_leg.audio.payload_type " +
                                           std::to_string(c.audio_payload_type));
    leg.audio_pcap->stream_payload_type = scan->payload_type;
  }
  int64_t events_at = static_cast<int64_t>(leg.event_pcaps_at_s * 1e6);
  for (size_t k = 0; k < leg.event_pcaps.size(); ++k) {
    PcapInput& in = leg.event_pcaps[k];
    if (!in.payload_type) in.payload_type = c.telephone_event_payload_type;
    auto scan = scan_capture(in);
    if (!scan.ok()) return bad("sip_leg.event_pcaps[" + std::to_string(k) + "]", scan.status().message());
    in.stream_payload_type = scan->payload_type;
  }

  // How long the replay runs.
  int64_t end_us = 0;
  if (m.duration_s > 0) {
    end_us = static_cast<int64_t>(m.duration_s * 1e6);
  } else {
    if (endless) return bad("duration_s", "needed with synth or looped participants");
    if (inputs_end <= 0) return bad("duration_s", "the inputs have no known length; set duration_s");
    end_us = std::min(inputs_end, kMaxDurationUs);
  }

  // What can never happen within that time is a mistake in the manifest.
  const std::string ends = " is not before the end of the replay (" + seconds(end_us) + ")";
  for (size_t i = 0; i < m.participants.size(); ++i) {
    const ParticipantInput& p = m.participants[i];
    int64_t first_join = static_cast<int64_t>(p.join_at_s * 1e6);
    for (const auto& e : m.timeline)
      if (e.action == TimelineEntry::Action::kJoin && e.target == p.id)
        first_join = std::min(first_join, static_cast<int64_t>(e.at_s * 1e6));
    if (first_join >= end_us)
      return bad("participants[" + std::to_string(i) + "].join_at_s", seconds(first_join) + ends);
  }
  for (size_t i = 0; i < m.timeline.size(); ++i) {
    const TimelineEntry& e = m.timeline[i];
    const int64_t at = static_cast<int64_t>(e.at_s * 1e6);
    if (at > end_us) return bad("timeline[" + std::to_string(i) + "].at_s", seconds(at) + ends);
    if (e.action != TimelineEntry::Action::kForceMute) continue;
    for (size_t k = 0; k < m.participants.size(); ++k) {
      const ParticipantInput& p = m.participants[k];
      if (p.id != e.target) continue;
      if (!sends_audio[k]) return bad("timeline[" + std::to_string(i) + "].target", "\"" + p.id + "\" sends no audio to mute");
      // Present at `at`? Joins and leaves at the same time as the action come first, as in the replay.
      std::vector<std::pair<int64_t, bool>> moves = {{static_cast<int64_t>(p.join_at_s * 1e6), true}};
      if (p.leave_at_s) moves.push_back({static_cast<int64_t>(*p.leave_at_s * 1e6), false});
      for (const auto& x : m.timeline)
        if ((x.action == TimelineEntry::Action::kJoin || x.action == TimelineEntry::Action::kLeave) && x.target == p.id)
          moves.push_back({static_cast<int64_t>(x.at_s * 1e6), x.action == TimelineEntry::Action::kJoin});
      std::stable_sort(moves.begin(), moves.end(), [](auto& a, auto& b) { return a.first < b.first; });
      bool present = false;
      for (const auto& [t, joins] : moves)
        if (t <= at) present = joins;
      if (!present)
        return bad("timeline[" + std::to_string(i) + "].target",
                   "\"" + p.id + "\" is not in the session at " + seconds(at));
    }
  }
  if (!leg.event_pcaps.empty() && events_at >= end_us) return bad("sip_leg.event_pcaps_at_s", seconds(events_at) + ends);
  return end_us;
}

// Where the results go, decided before the replay runs.
struct OutFolder {
  fs::path path;     // normalised, symbolic links resolved
  fs::path parent;
  bool replace = false;  // an earlier run's folder, replaced with --force
  std::vector<fs::path> created_parents;  // made by us, deepest first
};

bool is_marked(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(fs::symlink_status(dir / kMarker, ec));
}

// True when `inner` is `outer` or lies inside it (both absolute, normal).
bool within(const fs::path& inner, const fs::path& outer) {
  auto [o, i] = std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end());
  return o == outer.end();
}

StatusOr<OutFolder> plan_out(const std::string& arg, bool force) {
  auto bad = [&](const std::string& what) { return invalid_argument(one_line("--out: " + what)); };
  if (arg.empty()) return bad("empty path");
  std::error_code ec;
  fs::path p = fs::absolute(arg, ec);
  if (ec) return bad(arg + ": " + ec.message());
  // "out/", "out/." and "a/../out" all name the folder "out".
  std::string norm = p.lexically_normal().string();
  while (norm.size() > 1 && norm.back() == '/') norm.pop_back();
  p = norm;
  if (p == p.root_path()) return bad(arg + " is the root folder");
  OutFolder out;
  out.parent = fs::weakly_canonical(p.parent_path(), ec);
  if (ec) return bad(p.parent_path().string() + ": " + ec.message());
  out.path = out.parent / p.filename();
  if (fs::is_symlink(fs::symlink_status(out.path, ec))) {
    const fs::path target = fs::canonical(out.path, ec);
    if (ec) return bad(out.path.string() + " is a symbolic link to nothing");
    out.path = target;
    out.parent = target.parent_path();
    if (out.path == out.path.root_path()) return bad(arg + " is the root folder");
  }
  const fs::path cwd = fs::weakly_canonical(fs::current_path(ec), ec);
  if (!ec && within(cwd, out.path))
    return bad(out.path.string() + " is the working folder or one of its parents: choose a folder of its own");
  const fs::file_status st = fs::status(out.path, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) return bad(out.path.string() + " exists and is not a folder");
    if (!fs::is_empty(out.path, ec)) {
      if (!is_marked(out.path))
        return bad(out.path.string() + " is not empty and was not written by sipmix-replay: choose another folder");
      if (!force) return bad(out.path.string() + " holds an earlier sipmix-replay output: add --force to replace it");
      out.replace = true;
    }
  }
  return out;
}

// A folder of our own beside OUT, marked as ours from the start.
StatusOr<fs::path> make_temp_folder(OutFolder& out) {
  std::error_code ec;
  for (fs::path d = out.parent; !d.empty() && !fs::exists(d, ec); d = d.parent_path()) out.created_parents.push_back(d);
  fs::create_directories(out.parent, ec);
  if (ec) return invalid_argument("--out: cannot create " + out.parent.string() + ": " + ec.message());
  std::string name = (out.parent / ("." + out.path.filename().string() + ".sipmix-tmp-XXXXXX")).string();
  if (!::mkdtemp(name.data()))
    return invalid_argument("--out: cannot create a folder in " + out.parent.string() + ": " + std::strerror(errno));
  const fs::path tmp = name;
  if (Status st = write_file(tmp / kMarker, "written by sipmix-replay\n"); !st.ok()) {
    fs::remove_all(tmp, ec);
    return st;
  }
  return tmp;
}

// Moves the finished temporary folder to OUT; an earlier output is moved
// aside first and removed only once the new one is in place.
Status move_into_place(const fs::path& tmp, const OutFolder& out) {
  std::error_code ec;
  fs::path aside;
  if (out.replace) {
    if (!is_marked(out.path)) return invalid_argument("--out: " + out.path.string() + " changed during the replay");
    std::string name = (out.parent / ("." + out.path.filename().string() + ".sipmix-old-XXXXXX")).string();
    if (!::mkdtemp(name.data()))
      return unavailable("--out: cannot create a folder in " + out.parent.string() + ": " + std::strerror(errno));
    aside = name;
    fs::rename(out.path, aside, ec);
    if (ec) {
      fs::remove(aside, ec);
      return unavailable("--out: cannot move the earlier output " + out.path.string() + " aside: " + ec.message());
    }
  }
  fs::rename(tmp, out.path, ec);
  if (ec) {
    std::error_code ignored;
    if (!aside.empty()) fs::rename(aside, out.path, ignored);
    return unavailable("--out: cannot move the results into " + out.path.string() + ": " + ec.message());
  }
  if (!aside.empty()) fs::remove_all(aside, ec);
  return {};
}

// Output errors name the file as the user will look for it, not the
// temporary folder that is gone by then.
Status under_out(const Status& st, const fs::path& tmp, const fs::path& out) {
  std::string msg = st.message();
  const std::string from = tmp.string();
  for (size_t at; (at = msg.find(from)) != std::string::npos;) msg.replace(at, from.size(), out.string());
  return Status(st.code(), msg);
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

StatusOr<ReplayResult> run_replay(const Manifest& manifest, const ReplayOptions& opt) {
  const auto wall_start = std::chrono::steady_clock::now();
  // The output folder and every input are checked before anything is written.
  auto planned = plan_out(opt.out_dir, opt.force);
  if (!planned.ok()) return planned.status();
  OutFolder out_folder = std::move(*planned);
  const fs::path out = out_folder.path;
  Manifest m = manifest;  // with the payload types learned from captures
  auto duration = check_inputs(m, opt);
  if (!duration.ok()) return duration.status();
  const int64_t end_us = *duration;
  if (stopped(opt)) return interrupted();

  auto made = make_temp_folder(out_folder);
  if (!made.ok()) return made.status();
  const fs::path tmp = *made;
  struct Cleanup {
    fs::path dir;
    std::vector<fs::path> parents;
    bool keep = false;
    ~Cleanup() {
      std::error_code e;
      if (keep) return;
      fs::remove_all(dir, e);
      for (const auto& p : parents) fs::remove(p, e);  // only while empty
    }
  } cleanup{tmp, out_folder.created_parents};
  std::error_code ec;

  SimulatedClock clock(kStartUs);
  Outputs outputs(m, tmp, clock, opt.decode_sent_video);
  SessionConfig session_config = m.session;
  session_config.measure_stages = true;  // stats.json's "cpu" block
  auto session = Session::create(session_config, &clock, &outputs);
  if (!session.ok()) return invalid_argument(one_line(m.path + ": session: " + session.status().message()));
  Session& s = **session;

  // The phone side of a secure leg: protects what it sends, decrypts what it gets.
  std::unique_ptr<PeerSrtp> phone;
  if (m.leg.config.secure) {
    const LegConfig& c = m.leg.config;
    if (Status st = PeerSrtp::check_key(c.srtp_suite, c.srtp_key_to_leg); !st.ok())
      return invalid_argument(m.path + ": sip_leg.srtp.key_to_leg: " + st.message());
    if (Status st = PeerSrtp::check_key(c.srtp_suite, c.srtp_key_from_leg); !st.ok())
      return invalid_argument(m.path + ": sip_leg.srtp.key_from_leg: " + st.message());
    auto p = PeerSrtp::create(c.srtp_suite, c.srtp_key_from_leg, c.srtp_key_to_leg);
    if (!p.ok()) return invalid_argument(one_line(m.path + ": sip_leg.srtp: " + p.status().message()));
    phone = std::move(*p);
  }
  if (Status st = outputs.open(phone.get()); !st.ok()) return under_out(st, tmp, out);

  auto leg_handle = s.add_leg(m.leg.config);
  if (!leg_handle.ok()) return invalid_argument(m.path + ": sip_leg: " + leg_handle.status().message());

  // Sources, each with its own seeded impairment.
  struct Src {
    std::unique_ptr<PacketSource> source;
    std::unique_ptr<Impairer> impair;
    std::string field;  // the manifest field it comes from, for errors
    bool live = true;
  };
  std::vector<Src> sources;
  // An input that fails is the input's fault: exit status 2, naming the field.
  auto input_error = [&](const std::string& field, const Status& st) {
    return invalid_argument(one_line(m.path + ": " + field + ": " + st.message()));
  };
  auto add_source = [&](StatusOr<std::unique_ptr<PacketSource>> src, const Impairment& imp,
                        const std::string& field) -> Status {
    if (!src.ok()) return input_error(field, src.status());
    sources.push_back({std::move(*src), imp.any() ? std::make_unique<Impairer>(imp, m.seed * 7919 + sources.size()) : nullptr,
                       field});
    return {};
  };
  for (size_t i = 0; i < m.participants.size(); ++i) {
    const ParticipantInput& p = m.participants[i];
    const int pi = static_cast<int>(i);
    const int64_t join = static_cast<int64_t>(p.join_at_s * 1e6);
    const std::string f = "participants[" + std::to_string(i) + "]";
    Status st;
    if (p.synth) st = add_source(make_synth_source(p, pi, end_us), p.impairment, f + ".synth");
    else if (!p.media.empty()) st = add_source(make_file_source(p, pi, end_us), p.impairment, f + ".media");
    if (st.ok() && p.audio_pcap)
      st = add_source(make_pcap_source(*p.audio_pcap, Target::kAudio, pi, join), p.impairment, f + ".audio_pcap");
    if (st.ok() && p.video_pcap)
      st = add_source(make_pcap_source(*p.video_pcap, Target::kVideo, pi, join), p.impairment, f + ".video_pcap");
    if (!st.ok()) return st;
  }
  {
    Status st;
    if (m.leg.audio_pcap)
      st = add_source(make_pcap_source(*m.leg.audio_pcap, Target::kLeg, -1, 0), m.leg.impairment, "sip_leg.audio_pcap");
    else if (!m.leg.media.empty() || m.leg.synth_tone_hz > 0)
      st = add_source(make_leg_voice_source(m.leg, end_us), m.leg.impairment,
                      m.leg.media.empty() ? "sip_leg.synth_tone_hz" : "sip_leg.media");
    int64_t at = static_cast<int64_t>(m.leg.event_pcaps_at_s * 1e6);
    for (size_t k = 0; k < m.leg.event_pcaps.size() && st.ok(); ++k) {
      auto src = make_pcap_source(m.leg.event_pcaps[k], Target::kLeg, -1, at);
      if (src.ok()) at = (*src)->end_us() + static_cast<int64_t>(m.leg.event_pcaps_gap_s * 1e6);
      st = add_source(std::move(src), m.leg.impairment, "sip_leg.event_pcaps[" + std::to_string(k) + "]");
    }
    for (size_t i = 0; i < m.timeline.size() && st.ok(); ++i)
      if (m.timeline[i].action == TimelineEntry::Action::kPressDtmf)
        st = add_source(make_key_press_source(m.leg.config, m.timeline[i].digits,
                                              static_cast<int64_t>(m.timeline[i].at_s * 1e6)),
                        {}, "timeline[" + std::to_string(i) + "]");
    if (!st.ok()) return st;
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
    int audio_pt = -1, video_pt = -1;  // what the session expects on each
    bool joined = false;
  };
  std::vector<Handles> handles(m.participants.size());
  auto join = [&](int i) -> Status {
    const ParticipantInput& p = m.participants[i];
    Handles& h = handles[i];
    if (h.joined) return {};
    const bool has_audio = p.audio_pcap || ((p.synth || !p.media.empty()) && p.audio);
    const bool has_video = p.video_pcap || ((p.synth || !p.media.empty()) && p.video);
    if (has_audio) {
      StreamConfig a;
      a.id = p.id + "/audio";
      a.participant = p.id;
      a.kind = sipmix::MediaKind::kAudio;
      a.audio_codec = p.audio_pcap ? p.pcap_audio_codec : AudioCodec::kOpus;
      a.payload_type = p.audio_pcap ? static_cast<uint8_t>(p.audio_pcap->stream_payload_type) : 111;
      a.clock_rate_hz = a.audio_codec == AudioCodec::kOpus ? 48000 : 8000;
      auto r = s.add_stream(a);
      if (!r.ok()) return r.status();
      h.audio = *r;
      h.audio_pt = a.payload_type;
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
        v.payload_type = p.video_pcap               ? static_cast<uint8_t>(p.video_pcap->stream_payload_type)
                         : vc == VideoCodec::kH264 ? 102
                                                   : 100;
        v.clock_rate_hz = 90000;
        auto r = s.add_stream(v);
        if (!r.ok()) return r.status();
        h.video = *r;
        h.video_pt = v.payload_type;
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

  std::vector<size_t> actions;  // timeline indices in time order
  for (size_t i = 0; i < m.timeline.size(); ++i) actions.push_back(i);
  std::stable_sort(actions.begin(), actions.end(),
                   [&](size_t a, size_t b) { return m.timeline[a].at_s < m.timeline[b].at_s; });
  const LegConfig& lc = m.leg.config;
  auto leg_expects = [&](int pt) {
    return pt == lc.audio_payload_type || (lc.telephone_event_payload_type >= 0 && pt == lc.telephone_event_payload_type);
  };

  std::priority_queue<Scheduled, std::vector<Scheduled>, std::greater<>> queue;
  uint64_t order = 0;
  std::vector<TimedPacket> produced, impaired;
  size_t next_presence = 0, next_action = 0;
  ProgressBar progress(end_us, opt.progress && isatty(2));
  int64_t next_sample = 0;

  for (int64_t t = 0; t <= end_us; t += kStepUs) {
    if (stopped(opt)) return interrupted();
    if (!outputs.error().ok()) {
      outputs.abort();
      return under_out(outputs.error(), tmp, out);
    }
    while (next_presence < presence.size() && presence[next_presence].first <= t) {
      const auto& [join_now, i] = presence[next_presence++].second;
      if (join_now) {
        if (Status st = join(i); !st.ok()) return input_error("participants[" + std::to_string(i) + "]", st);
      } else {
        leave(i);
      }
    }
    while (next_action < actions.size() && static_cast<int64_t>(m.timeline[actions[next_action]].at_s * 1e6) <= t) {
      const size_t index = actions[next_action++];
      const TimelineEntry& e = m.timeline[index];
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
      if (!st.ok()) return input_error("timeline[" + std::to_string(index) + "]", st);
    }
    for (auto& src : sources) {
      if (!src.live) continue;
      auto r = src.source->produce(t + kLookaheadUs, produced);
      if (!r.ok()) return input_error(src.field, r.status());
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
        const auto v = parse_rtp_packet(p.data);
        if (!v || !leg_expects(v->payload_type)) {
          outputs.unmatched_payload_type(lc.id);
          continue;
        }
        if (phone && !phone->protect_rtp(p.data)) continue;
        s.push_rtp(*leg_handle, p.data);
        continue;
      }
      const Handles& h = handles[p.participant];
      if (!h.joined) continue;  // not in the session (yet, or any more)
      const bool audio = p.target == Target::kAudio;
      const PushHandle ph = audio ? h.audio : h.video;
      if (!ph.valid()) continue;
      const auto v = parse_rtp_packet(p.data);
      if (!v || v->payload_type != (audio ? h.audio_pt : h.video_pt)) {
        outputs.unmatched_payload_type(m.participants[p.participant].id + (audio ? "/audio" : "/video"));
        continue;
      }
      s.push_rtp(ph, p.data);
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
    return under_out(st, tmp, out);
  }
  session->reset();
  if (stopped(opt)) return interrupted();
  if (Status st = move_into_place(tmp, out_folder); !st.ok()) return st;
  cleanup.keep = true;
  result.out_dir = out.string();
  for (const auto& f : fs::directory_iterator(out, ec))
    if (f.path().filename() != kMarker) result.files.push_back(f.path().filename().string());
  std::sort(result.files.begin(), result.files.end());
  result.media_seconds = static_cast<double>(end_us) / 1e6;
  result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return result;
}

}  // namespace sipmix::replay
