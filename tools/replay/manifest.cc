#include "tools/replay/manifest.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <vector>
#include <sstream>

#include <nlohmann/json.hpp>

namespace sipmix::replay {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Each participant takes an audio and a video slot, plus two for the leg;
// Session allows 256 slots.
constexpr size_t kMaxParticipants = 127;
constexpr uintmax_t kMaxManifestBytes = 16 << 20;

// Values from the manifest are quoted in errors: keep the message one line.
std::string one_line(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return s;
}

// The first error wins; every accessor is a no-op afterwards. Field paths in
// messages look like `participants[2].impairment.loss`.
class Reader {
 public:
  Reader(std::string display, std::string base_dir) : display_(std::move(display)), base_(std::move(base_dir)) {}

  bool failed() const { return !error_.empty(); }
  Status status() const { return failed() ? invalid_argument(error_) : Status(); }
  void fail(const std::string& field, const std::string& what) {
    if (!failed()) error_ = one_line(display_ + ": " + field + ": " + what);
  }

  // Rejects keys not in `known`: a typo must not be silently ignored.
  void only_keys(const json& obj, const std::string& field, std::initializer_list<const char*> known) {
    if (failed() || !obj.is_object()) return;
    std::set<std::string> k(known.begin(), known.end());
    for (auto it = obj.begin(); it != obj.end(); ++it)
      if (!k.count(it.key())) fail(join(field, it.key()), "unknown field");
  }

  const json* object(const json& parent, const std::string& field, const char* key, bool required) {
    if (failed()) return nullptr;
    auto it = parent.find(key);
    if (it == parent.end()) {
      if (required) fail(join(field, key), "missing");
      return nullptr;
    }
    if (!it->is_object()) {
      fail(join(field, key), "must be an object");
      return nullptr;
    }
    return &*it;
  }

  const json* array(const json& parent, const std::string& field, const char* key, bool required) {
    if (failed()) return nullptr;
    auto it = parent.find(key);
    if (it == parent.end()) {
      if (required) fail(join(field, key), "missing");
      return nullptr;
    }
    if (!it->is_array()) {
      fail(join(field, key), "must be an array");
      return nullptr;
    }
    return &*it;
  }

  void boolean(const json& o, const std::string& field, const char* key, bool* out) {
    if (failed()) return;
    auto it = o.find(key);
    if (it == o.end()) return;
    if (!it->is_boolean()) return fail(join(field, key), "must be true or false");
    *out = it->get<bool>();
  }

  void number(const json& o, const std::string& field, const char* key, double* out, double lo, double hi) {
    if (failed()) return;
    auto it = o.find(key);
    if (it == o.end()) return;
    if (!it->is_number()) return fail(join(field, key), "must be a number");
    const double v = it->get<double>();
    if (!(v >= lo && v <= hi)) {
      std::ostringstream m;
      m << "must be between " << lo << " and " << hi << " (got " << v << ")";
      return fail(join(field, key), m.str());
    }
    *out = v;
  }

  void integer(const json& o, const std::string& field, const char* key, int* out, int lo, int hi) {
    if (failed()) return;
    auto it = o.find(key);
    if (it == o.end()) return;
    if (!it->is_number_integer()) return fail(join(field, key), "must be an integer");
    const int64_t v = it->get<int64_t>();
    if (v < lo || v > hi) {
      std::ostringstream m;
      m << "must be between " << lo << " and " << hi << " (got " << v << ")";
      return fail(join(field, key), m.str());
    }
    *out = static_cast<int>(v);
  }

  // A seed is a whole number: 1.5 would silently become 1.
  void seed(const json& o, const char* key, uint64_t* out) {
    if (failed()) return;
    auto it = o.find(key);
    if (it == o.end()) return;
    if (!it->is_number_integer() || (!it->is_number_unsigned() && it->get<int64_t>() < 0))
      return fail(key, "must be a whole number 0 or more");
    *out = it->get<uint64_t>();
  }

  void string(const json& o, const std::string& field, const char* key, std::string* out, bool required = false) {
    if (failed()) return;
    auto it = o.find(key);
    if (it == o.end()) {
      if (required) fail(join(field, key), "missing");
      return;
    }
    if (!it->is_string()) return fail(join(field, key), "must be a string");
    *out = it->get<std::string>();
    if (required && out->empty()) fail(join(field, key), "must not be empty");
  }

  // A readable regular file, resolved against the manifest's folder.
  void file(const json& o, const std::string& field, const char* key, std::string* out, bool required = false) {
    std::string rel;
    string(o, field, key, &rel, required);
    if (failed() || rel.empty()) return;
    *out = resolve(join(field, key), rel);
  }

  std::string resolve(const std::string& field, const std::string& rel) {
    fs::path p(rel);
    if (p.is_relative() && !base_.empty()) p = fs::path(base_) / p;
    std::error_code ec;
    if (!fs::exists(p, ec)) {
      fail(field, "no such file: " + p.string());
      return {};
    }
    if (!fs::is_regular_file(p, ec)) {
      fail(field, "not a regular file: " + p.string());
      return {};
    }
    std::ifstream f(p, std::ios::binary);
    if (!f.good()) {
      fail(field, "cannot read: " + p.string());
      return {};
    }
    return p.string();
  }

  static std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }
  static std::string index(const std::string& a, size_t i) { return a + "[" + std::to_string(i) + "]"; }

 private:
  std::string display_, base_, error_;
};

bool parse_audio_codec(const std::string& s, AudioCodec* c) {
  if (s == "opus") *c = AudioCodec::kOpus;
  else if (s == "pcmu") *c = AudioCodec::kPcmu;
  else if (s == "pcma") *c = AudioCodec::kPcma;
  else if (s == "g722") *c = AudioCodec::kG722;
  else return false;
  return true;
}

bool parse_video_codec(const std::string& s, VideoCodec* c) {
  if (s == "vp8") *c = VideoCodec::kVp8;
  else if (s == "h264") *c = VideoCodec::kH264;
  else return false;
  return true;
}

void read_impairment(Reader& r, const json& parent, const std::string& field, Impairment* imp) {
  const json* o = r.object(parent, field, "impairment", false);
  if (!o) return;
  const std::string f = Reader::join(field, "impairment");
  r.only_keys(*o, f, {"loss", "jitter_ms", "reorder", "duplicate", "burst_loss_ms", "burst_every_s"});
  r.number(*o, f, "loss", &imp->loss, 0, 1);
  r.integer(*o, f, "jitter_ms", &imp->jitter_ms, 0, 5000);
  r.number(*o, f, "reorder", &imp->reorder, 0, 1);
  r.number(*o, f, "duplicate", &imp->duplicate, 0, 1);
  r.integer(*o, f, "burst_loss_ms", &imp->burst_loss_ms, 0, 60000);
  r.integer(*o, f, "burst_every_s", &imp->burst_every_s, 0, 3600);
  if (!r.failed() && (imp->burst_loss_ms > 0) != (imp->burst_every_s > 0))
    r.fail(f, "burst_loss_ms and burst_every_s go together");
}

void read_pcap(Reader& r, const json& parent, const std::string& field, const char* key,
               std::optional<PcapInput>* out) {
  if (r.failed() || !parent.contains(key)) return;
  const json& v = parent[key];
  const std::string f = Reader::join(field, key);
  PcapInput in;
  if (v.is_string()) {
    in.path = r.resolve(f, v.get<std::string>());
  } else if (v.is_object()) {
    r.only_keys(v, f, {"file", "payload_type", "udp_port"});
    r.file(v, f, "file", &in.path, true);
    int pt = -1, port = -1;
    r.integer(v, f, "payload_type", &pt, 0, 127);
    r.integer(v, f, "udp_port", &port, 1, 65535);
    if (pt >= 0) in.payload_type = pt;
    if (port >= 0) in.udp_port = port;
  } else {
    return r.fail(f, "must be a file name or an object {file, payload_type, udp_port}");
  }
  if (!r.failed()) *out = in;
}

void read_participant(Reader& r, const json& p, const std::string& f, ParticipantInput* out) {
  if (!p.is_object()) return r.fail(f, "must be an object");
  r.only_keys(p, f,
              {"id", "media", "audio", "video", "audio_pcap", "video_pcap", "audio_codec", "video_codec", "join_at_s",
               "leave_at_s", "offset_s", "loop", "synth", "speech", "impairment"});
  r.string(p, f, "id", &out->id, true);
  r.file(p, f, "media", &out->media);
  r.boolean(p, f, "audio", &out->audio);
  r.boolean(p, f, "video", &out->video);
  read_pcap(r, p, f, "audio_pcap", &out->audio_pcap);
  read_pcap(r, p, f, "video_pcap", &out->video_pcap);
  std::string codec;
  r.string(p, f, "audio_codec", &codec);
  if (!codec.empty() && !parse_audio_codec(codec, &out->pcap_audio_codec))
    r.fail(Reader::join(f, "audio_codec"), "must be opus, pcmu, pcma or g722 (got \"" + codec + "\")");
  codec.clear();
  r.string(p, f, "video_codec", &codec);
  if (!codec.empty() && !parse_video_codec(codec, &out->pcap_video_codec))
    r.fail(Reader::join(f, "video_codec"), "must be vp8 or h264 (got \"" + codec + "\")");
  r.number(p, f, "join_at_s", &out->join_at_s, 0, 86400);
  double leave = -1;
  r.number(p, f, "leave_at_s", &leave, 0, 86400);
  if (leave >= 0) out->leave_at_s = leave;
  r.number(p, f, "offset_s", &out->offset_s, 0, 86400);
  r.boolean(p, f, "loop", &out->loop);
  r.boolean(p, f, "synth", &out->synth);
  r.file(p, f, "speech", &out->speech);
  read_impairment(r, p, f, &out->impairment);
  if (r.failed()) return;
  if (out->media.empty() && !out->audio_pcap && !out->video_pcap && !out->synth)
    r.fail(f, "needs \"media\", \"audio_pcap\"/\"video_pcap\" or \"synth\"");
  else if (out->synth && !out->media.empty())
    r.fail(f, "\"synth\" and \"media\" exclude each other");
  else if (!out->speech.empty() && !out->synth)
    r.fail(Reader::join(f, "speech"), "goes with \"synth\": true");
  if (out->leave_at_s && *out->leave_at_s <= out->join_at_s)
    r.fail(Reader::join(f, "leave_at_s"), "must be after join_at_s");
  if (r.failed()) return;
  // Each kind comes from one input, and the participant sends something.
  const bool whole = out->synth || !out->media.empty();
  const char* what = out->synth ? "synth" : "media";
  if (whole && !out->audio && !out->video && !out->audio_pcap && !out->video_pcap)
    r.fail(f, std::string("contributes nothing: \"audio\" and \"video\" are both false for its ") + what);
  else if (whole && out->audio && out->audio_pcap)
    r.fail(Reader::join(f, "audio_pcap"), std::string("the ") + what +
                                              " audio is used too: set \"audio\": false to take the audio from the capture");
  else if (whole && out->video && out->video_pcap)
    r.fail(Reader::join(f, "video_pcap"), std::string("the ") + what +
                                              " video is used too: set \"video\": false to take the video from the capture");
}

void read_leg(Reader& r, const json& root, LegInput* leg) {
  const json* o = r.object(root, "", "sip_leg", true);
  if (!o) return;
  const std::string f = "sip_leg";
  LegConfig& c = leg->config;
  r.only_keys(*o, f,
              {"id", "video", "secure", "observe_force_mute", "audio", "telephone_event", "video_codec", "srtp",
               "media", "audio_pcap", "event_pcaps", "event_pcaps_at_s", "event_pcaps_gap_s", "synth_tone_hz", "prompts",
               "stop_stream_when_muted", "crop_to_fill", "impairment"});
  c.id = "sip";
  r.string(*o, f, "id", &c.id);
  c.participant = c.id;
  r.boolean(*o, f, "video", &c.video);
  r.boolean(*o, f, "secure", &c.secure);
  r.boolean(*o, f, "observe_force_mute", &c.observe_force_mute);
  r.boolean(*o, f, "stop_stream_when_muted", &c.stop_stream_when_muted);
  r.boolean(*o, f, "crop_to_fill", &c.crop_to_fill);

  if (const json* a = r.object(*o, f, "audio", false)) {
    const std::string fa = f + ".audio";
    r.only_keys(*a, fa, {"codec", "payload_type", "clock_hz"});
    std::string codec = "pcmu";
    r.string(*a, fa, "codec", &codec);
    if (!parse_audio_codec(codec, &c.audio_codec))
      r.fail(fa + ".codec", "must be opus, pcmu, pcma or g722 (got \"" + codec + "\")");
    // RFC 3551 static types and clocks as defaults.
    switch (c.audio_codec) {
      case AudioCodec::kPcmu: c.audio_payload_type = 0; c.audio_clock_hz = 8000; break;
      case AudioCodec::kPcma: c.audio_payload_type = 8; c.audio_clock_hz = 8000; break;
      case AudioCodec::kG722: c.audio_payload_type = 9; c.audio_clock_hz = 8000; break;
      case AudioCodec::kOpus: c.audio_payload_type = 111; c.audio_clock_hz = 48000; break;
    }
    int pt = c.audio_payload_type;
    r.integer(*a, fa, "payload_type", &pt, 0, 127);
    c.audio_payload_type = static_cast<uint8_t>(pt);
    r.integer(*a, fa, "clock_hz", &c.audio_clock_hz, 8000, 48000);
    if (!r.failed() && c.audio_codec == AudioCodec::kOpus && c.audio_clock_hz != 48000)
      r.fail(fa + ".clock_hz", "Opus uses a 48000 Hz RTP clock");
    if (!r.failed() && c.audio_codec != AudioCodec::kOpus && c.audio_clock_hz != 8000)
      r.fail(fa + ".clock_hz", "G.711 and G.722 use an 8000 Hz RTP clock");
  }
  if (const json* t = r.object(*o, f, "telephone_event", false)) {
    const std::string ft = f + ".telephone_event";
    r.only_keys(*t, ft, {"payload_type", "clock_hz"});
    int pt = 101;
    r.integer(*t, ft, "payload_type", &pt, 96, 127);
    c.telephone_event_payload_type = pt;
    r.integer(*t, ft, "clock_hz", &c.telephone_event_clock_hz, 8000, 48000);
    if (!r.failed() && c.telephone_event_clock_hz != 8000 && c.telephone_event_clock_hz != 48000)
      r.fail(ft + ".clock_hz", "must be 8000 or 48000");
  }
  if (const json* v = r.object(*o, f, "video_codec", false)) {
    const std::string fv = f + ".video_codec";
    r.only_keys(*v, fv, {"codec", "payload_type", "width", "height", "fps", "bitrate_bps", "preset"});
    std::string codec = "h264";
    r.string(*v, fv, "codec", &codec);
    if (!parse_video_codec(codec, &c.video_codec)) r.fail(fv + ".codec", "must be vp8 or h264 (got \"" + codec + "\")");
    int pt = c.video_payload_type;
    r.integer(*v, fv, "payload_type", &pt, 96, 127);
    c.video_payload_type = static_cast<uint8_t>(pt);
    r.integer(*v, fv, "width", &c.width, 64, 3840);
    r.integer(*v, fv, "height", &c.height, 64, 2160);
    r.integer(*v, fv, "fps", &c.fps, 1, 60);
    r.integer(*v, fv, "bitrate_bps", &c.video_bitrate_bps, 50000, 20000000);
    r.string(*v, fv, "preset", &c.h264_preset);
    if (!r.failed() && (c.width % 2 || c.height % 2)) r.fail(fv, "width and height must be even");
  }
  if (const json* s = r.object(*o, f, "srtp", false)) {
    const std::string fs = f + ".srtp";
    r.only_keys(*s, fs, {"suite", "key_to_leg", "key_from_leg"});
    std::string suite = to_string(c.srtp_suite);
    r.string(*s, fs, "suite", &suite);
    r.string(*s, fs, "key_to_leg", &c.srtp_key_to_leg);
    r.string(*s, fs, "key_from_leg", &c.srtp_key_from_leg);
    const StatusOr<SrtpSuite> parsed = parse_srtp_suite(suite);
    if (parsed.ok()) c.srtp_suite = *parsed;
    else if (!r.failed()) r.fail(fs + ".suite", "must be AES_CM_128_HMAC_SHA1_80 or AES_CM_128_HMAC_SHA1_32");
  }
  if (const json* p = r.object(*o, f, "prompts", false)) {
    r.only_keys(*p, f + ".prompts", {"muted", "unmuted"});
    r.file(*p, f + ".prompts", "muted", &c.muted_prompt_path);
    r.file(*p, f + ".prompts", "unmuted", &c.unmuted_prompt_path);
  }
  r.file(*o, f, "media", &leg->media);
  read_pcap(r, *o, f, "audio_pcap", &leg->audio_pcap);
  if (const json* ev = r.array(*o, f, "event_pcaps", false)) {
    for (size_t i = 0; i < ev->size() && !r.failed(); ++i) {
      std::optional<PcapInput> in;
      json wrap = {{"e", (*ev)[i]}};
      read_pcap(r, wrap, Reader::index(f + ".event_pcaps", i), "e", &in);
      if (in) leg->event_pcaps.push_back(*in);
    }
  }
  r.number(*o, f, "event_pcaps_at_s", &leg->event_pcaps_at_s, 0, 86400);
  r.number(*o, f, "event_pcaps_gap_s", &leg->event_pcaps_gap_s, 0, 3600);
  r.number(*o, f, "synth_tone_hz", &leg->synth_tone_hz, 0, 20000);
  if (!r.failed() && leg->synth_tone_hz > 0 && (!leg->media.empty() || leg->audio_pcap))
    r.fail(f + ".synth_tone_hz", "excludes \"media\" and \"audio_pcap\"");
  if (!r.failed() && !leg->media.empty() && leg->audio_pcap) r.fail(f + ".audio_pcap", "excludes \"media\"");
  // One payload type names one medium of the leg.
  if (!r.failed() && c.telephone_event_payload_type == c.audio_payload_type)
    r.fail(f + ".telephone_event.payload_type",
           "clashes with sip_leg.audio.payload_type " + std::to_string(c.audio_payload_type));
  if (!r.failed() && c.video && c.video_payload_type == c.audio_payload_type)
    r.fail(f + ".video_codec.payload_type",
           "clashes with sip_leg.audio.payload_type " + std::to_string(c.audio_payload_type));
  if (!r.failed() && c.video && c.video_payload_type == c.telephone_event_payload_type)
    r.fail(f + ".video_codec.payload_type",
           "clashes with sip_leg.telephone_event.payload_type " + std::to_string(c.telephone_event_payload_type));
  read_impairment(r, *o, f, &leg->impairment);
  if (r.failed()) return;
  if (c.secure && (c.srtp_key_to_leg.empty() || c.srtp_key_from_leg.empty()))
    r.fail(f + ".srtp", "a secure leg needs key_to_leg and key_from_leg (SDES inline keys)");
  if (!leg->event_pcaps.empty() && c.telephone_event_payload_type < 0)
    r.fail(f + ".telephone_event", "event_pcaps given but telephone-event is not negotiated");
}

void read_timeline(Reader& r, const json& root, Manifest* m) {
  const json* t = r.array(root, "", "timeline", false);
  if (!t) return;
  for (size_t i = 0; i < t->size() && !r.failed(); ++i) {
    const std::string f = Reader::index("timeline", i);
    const json& e = (*t)[i];
    if (!e.is_object()) return r.fail(f, "must be an object");
    r.only_keys(e, f, {"at_s", "action", "target", "muted", "active", "excluded", "digits"});
    TimelineEntry en;
    if (!e.contains("at_s")) return r.fail(f + ".at_s", "missing");
    r.number(e, f, "at_s", &en.at_s, 0, 86400);
    std::string action;
    r.string(e, f, "action", &action, true);
    using A = TimelineEntry::Action;
    if (action == "join") en.action = A::kJoin;
    else if (action == "leave") en.action = A::kLeave;
    else if (action == "force_mute") en.action = A::kForceMute;
    else if (action == "force_mute_session") en.action = A::kForceMuteSession;
    else if (action == "play_dtmf") en.action = A::kPlayDtmf;
    else if (action == "press_dtmf") en.action = A::kPressDtmf;
    else if (action == "keyframe_request") en.action = A::kKeyframeRequest;
    else if (!r.failed())
      return r.fail(f + ".action",
                    "unknown action \"" + action +
                        "\" (join, leave, force_mute, force_mute_session, play_dtmf, press_dtmf, keyframe_request)");
    r.string(e, f, "target", &en.target);
    r.boolean(e, f, "muted", &en.muted);
    r.boolean(e, f, "active", &en.active);
    r.string(e, f, "digits", &en.digits);
    if (const json* ex = r.array(e, f, "excluded", false)) {
      for (const auto& x : *ex) {
        if (!x.is_string()) return r.fail(f + ".excluded", "must be an array of ids");
        en.excluded.push_back(x.get<std::string>());
      }
    }
    if (r.failed()) return;
    const bool needs_target = en.action == A::kJoin || en.action == A::kLeave || en.action == A::kForceMute;
    if (needs_target && en.target.empty()) return r.fail(f + ".target", "missing");
    if ((en.action == A::kJoin || en.action == A::kLeave) && en.target == m->leg.config.id)
      return r.fail(f + ".target", "join and leave move participants, not the SIP leg \"" + en.target + "\"");
    if (en.action == A::kPlayDtmf || en.action == A::kPressDtmf) {
      if (en.digits.empty()) return r.fail(f + ".digits", "missing");
      for (char ch : en.digits)
        if (!((ch >= '0' && ch <= '9') || ch == '*' || ch == '#' || ch == 'p' || (ch >= 'A' && ch <= 'D')))
          return r.fail(f + ".digits", std::string("invalid digit '") + ch + "' (0-9 * # A-D p)");
    }
    if ((en.action == A::kPlayDtmf || en.action == A::kPressDtmf) && m->leg.config.telephone_event_payload_type < 0)
      return r.fail(f + ".action", action + " needs sip_leg.telephone_event (not negotiated)");
    if (en.action == A::kKeyframeRequest && !m->leg.config.video)
      return r.fail(f + ".action", "keyframe_request needs a leg with video (sip_leg.video)");
    m->timeline.push_back(en);
  }
}

}  // namespace

// JSON allows an object to repeat a key and keeps the last value: in a
// manifest that is always a mistake, so the parser's callback records the
// first repeated key with its field path.
class DuplicateKeys {
 public:
  bool on_event(json::parse_event_t event, const json& parsed) {
    using E = json::parse_event_t;
    switch (event) {
      case E::object_start:
        element();
        frames_.push_back({false, {}, -1, {}});
        break;
      case E::array_start:
        element();
        frames_.push_back({true, {}, -1, {}});
        break;
      case E::object_end:
      case E::array_end:
        if (!frames_.empty()) frames_.pop_back();
        break;
      case E::key:
        if (!frames_.empty() && parsed.is_string()) {
          Frame& f = frames_.back();
          f.key = parsed.get<std::string>();
          if (!f.keys.insert(f.key).second && first_.empty()) first_ = path();
        }
        break;
      case E::value:
        element();
        break;
    }
    return true;
  }
  const std::string& first() const { return first_; }

 private:
  struct Frame {
    bool array;
    std::string key;
    int index;
    std::set<std::string> keys;
  };
  void element() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
  }
  std::string path() const {
    std::string p;
    for (size_t i = 0; i < frames_.size(); ++i) {
      const Frame& f = frames_[i];
      if (f.array) p += "[" + std::to_string(f.index) + "]";
      else p += (p.empty() ? "" : ".") + f.key;
    }
    return p;
  }
  std::vector<Frame> frames_;
  std::string first_;
};

StatusOr<Manifest> parse_manifest(const std::string& text, const std::string& base_dir, const std::string& display) {
  DuplicateKeys dups;
  json root = json::parse(
      text, [&dups](int, json::parse_event_t e, json& parsed) { return dups.on_event(e, parsed); },
      /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (root.is_discarded()) {
    // Re-parse with exceptions only to get the position for the message.
    try {
      json ignored = json::parse(text, nullptr, true, true);
      (void)ignored;
    } catch (const json::parse_error& e) {
      return invalid_argument(display + ": not valid JSON (byte " + std::to_string(e.byte) + ")");
    } catch (const json::exception& e) {  // e.g. a number too large for a double
      return invalid_argument(display + ": not valid JSON (" + one_line(e.what()) + ")");
    }
    return invalid_argument(display + ": not valid JSON");
  }
  if (!root.is_object()) return invalid_argument(display + ": the top level must be an object");
  if (!dups.first().empty()) return invalid_argument(one_line(display + ": " + dups.first() + ": duplicate key"));
  Reader r(display, base_dir);
  Manifest m;
  m.path = display;
  r.only_keys(root, "", {"duration_s", "seed", "participants", "sip_leg", "timeline", "session", "contact_sheet_every_s"});
  r.number(root, "", "duration_s", &m.duration_s, 0, 86400);
  r.seed(root, "seed", &m.seed);
  r.integer(root, "", "contact_sheet_every_s", &m.contact_sheet_every_s, 1, 3600);
  if (const json* s = r.object(root, "", "session", false)) {
    r.only_keys(*s, "session", {"resampler_quality", "no_video_timeout_ms", "dtmf_inter_digit_timeout_ms",
                                "jitter_min_delay_ms", "jitter_max_delay_ms"});
    r.integer(*s, "session", "resampler_quality", &m.session.resampler_quality, 3, 10);
    r.integer(*s, "session", "no_video_timeout_ms", &m.session.no_video_timeout_ms, 100, 600000);
    r.integer(*s, "session", "dtmf_inter_digit_timeout_ms", &m.session.dtmf_inter_digit_timeout_ms, 100, 60000);
    r.integer(*s, "session", "jitter_min_delay_ms", &m.session.jitter_min_delay_ms, 0, 1000);
    r.integer(*s, "session", "jitter_max_delay_ms", &m.session.jitter_max_delay_ms, 20, 5000);
    if (!r.failed() && m.session.jitter_min_delay_ms > m.session.jitter_max_delay_ms)
      r.fail("session.jitter_min_delay_ms", "must not exceed jitter_max_delay_ms (" +
                                                std::to_string(m.session.jitter_min_delay_ms) + " > " +
                                                std::to_string(m.session.jitter_max_delay_ms) + ")");
  }
  if (const json* ps = r.array(root, "", "participants", true)) {
    if (ps->empty()) r.fail("participants", "must list at least one participant");
    if (ps->size() > kMaxParticipants)
      r.fail("participants", "at most " + std::to_string(kMaxParticipants) + " (the session has " +
                                 std::to_string(2 * kMaxParticipants + 2) + " stream slots; got " +
                                 std::to_string(ps->size()) + ")");
    std::set<std::string> ids;
    for (size_t i = 0; i < ps->size() && !r.failed(); ++i) {
      ParticipantInput p;
      const std::string f = Reader::index("participants", i);
      read_participant(r, (*ps)[i], f, &p);
      if (!r.failed() && !ids.insert(p.id).second) r.fail(f + ".id", "duplicate id \"" + p.id + "\"");
      m.participants.push_back(std::move(p));
    }
    m.session.max_streams = std::max<int>(m.session.max_streams, static_cast<int>(2 * ps->size() + 2));
  }
  read_leg(r, root, &m.leg);
  for (const auto& p : m.participants)
    if (!r.failed() && p.id == m.leg.config.id) r.fail("sip_leg.id", "clashes with a participant id \"" + p.id + "\"");
  read_timeline(r, root, &m);
  for (size_t i = 0; i < m.timeline.size() && !r.failed(); ++i) {
    const auto& e = m.timeline[i];
    if (e.target.empty() || e.target == m.leg.config.id) continue;
    bool known = false;
    for (const auto& p : m.participants) known |= p.id == e.target;
    if (!known) r.fail(Reader::index("timeline", i) + ".target", "unknown participant or leg \"" + e.target + "\"");
  }
  for (size_t i = 0; i < m.timeline.size() && !r.failed(); ++i) {
    for (const auto& x : m.timeline[i].excluded) {
      bool known = x == m.leg.config.id;
      for (const auto& p : m.participants) known |= p.id == x;
      if (!known) r.fail(Reader::index("timeline", i) + ".excluded", "unknown participant or leg \"" + x + "\"");
    }
  }
  if (r.failed()) return r.status();
  return m;
}

StatusOr<Manifest> load_manifest(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return invalid_argument(one_line(path + ": no such file"));
  // Not a device or a pipe: /dev/zero would never end.
  if (!fs::is_regular_file(path, ec)) return invalid_argument(one_line(path + ": not a regular file"));
  const auto size = fs::file_size(path, ec);
  if (ec) return invalid_argument(one_line(path + ": cannot read: " + ec.message()));
  if (size > kMaxManifestBytes)
    return invalid_argument(one_line(path + ": too large for a manifest (" + std::to_string(size) + " bytes)"));
  std::ifstream f(path, std::ios::binary);
  if (!f.good()) return invalid_argument(one_line(path + ": cannot read"));
  std::stringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return invalid_argument(one_line(path + ": read error"));
  const std::string base = fs::path(path).parent_path().string();
  return parse_manifest(ss.str(), base, path);
}

}  // namespace sipmix::replay
