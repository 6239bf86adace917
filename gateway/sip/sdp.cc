#include "gateway/sip/sdp.h"

#include <cassert>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>

namespace sipmix::gw {
namespace {

constexpr const char* kSuite80 = "AES_CM_128_HMAC_SHA1_80";
constexpr const char* kSuite32 = "AES_CM_128_HMAC_SHA1_32";

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool parse_int(std::string_view s, int& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::vector<std::string> split_ws(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// Static payload types (RFC 3551) that may come without an rtpmap.
SdpFormat static_format(int pt) {
  SdpFormat f;
  f.pt = pt;
  switch (pt) {
    case 0: f.encoding = "pcmu"; f.clock_hz = 8000; break;
    case 8: f.encoding = "pcma"; f.clock_hz = 8000; break;
    case 9: f.encoding = "g722"; f.clock_hz = 8000; break;
    default: break;
  }
  return f;
}

bool audio_codec_of(const SdpFormat& f, AudioCodec& codec, int& clock_hz) {
  if (f.encoding == "opus" && f.clock_hz == 48000) { codec = AudioCodec::kOpus; clock_hz = 48000; return true; }
  if (f.encoding == "pcmu" && f.clock_hz == 8000) { codec = AudioCodec::kPcmu; clock_hz = 8000; return true; }
  if (f.encoding == "pcma" && f.clock_hz == 8000) { codec = AudioCodec::kPcma; clock_hz = 8000; return true; }
  if (f.encoding == "g722" && f.clock_hz == 8000) { codec = AudioCodec::kG722; clock_hz = 8000; return true; }
  return false;
}

bool video_codec_of(const SdpFormat& f, VideoCodec& codec) {
  if (f.encoding == "vp8" && f.clock_hz == 90000) { codec = VideoCodec::kVp8; return true; }
  if (f.encoding == "h264" && f.clock_hz == 90000) {
    // We send packetization-mode 1 only: an answer must allow it.
    const std::string fm = lower(f.fmtp);
    if (fm.find("packetization-mode=1") == std::string::npos) return false;
    codec = VideoCodec::kH264;
    return true;
  }
  return false;
}

int find_telephone_event(const SdpMedia& m, int clock_hz) {
  for (const SdpFormat& f : m.formats)
    if (f.encoding == "telephone-event" && f.clock_hz == clock_hz) return f.pt;
  return -1;
}

bool supported_suite(const std::string& s) { return s == kSuite80 || s == kSuite32; }

bool valid_inline_key(const std::string& key_params) {
  // inline:<base64 of 30 bytes = 40 chars>[|lifetime][|MKI:len]
  if (key_params.rfind("inline:", 0) != 0) return false;
  const std::string b64 = key_params.substr(7, key_params.find('|') == std::string::npos
                                                   ? std::string::npos
                                                   : key_params.find('|') - 7);
  return b64.size() == 40;
}

const char* direction_attr(MediaDirection d) {
  switch (d) {
    case MediaDirection::kSendOnly: return "a=sendonly\r\n";
    case MediaDirection::kRecvOnly: return "a=recvonly\r\n";
    case MediaDirection::kInactive: return "a=inactive\r\n";
    case MediaDirection::kSendRecv: break;
  }
  return "a=sendrecv\r\n";
}

MediaDirection mirror(MediaDirection d) {
  switch (d) {
    case MediaDirection::kSendOnly: return MediaDirection::kRecvOnly;
    case MediaDirection::kRecvOnly: return MediaDirection::kSendOnly;
    default: return d;
  }
}

void write_session_header(std::ostringstream& o, const LocalMedia& l) {
  o << "v=0\r\n"
    << "o=sipmix " << l.session_id << ' ' << l.version << " IN IP4 " << l.ip << "\r\n"
    << "s=sipmix\r\n"
    << "c=IN IP4 " << l.ip << "\r\n"
    << "t=0 0\r\n";
}

void write_crypto(std::ostringstream& o, const SdesCrypto& c) {
  o << "a=crypto:" << c.tag << ' ' << c.suite << ' ' << c.key_params << "\r\n";
}

const char* proto_of(bool secure) { return secure ? "RTP/SAVP" : "RTP/AVP"; }

// Picks a crypto line from the peer's list that we can use; `prefer_suite`
// first when given. Returns its index or -1.
int pick_crypto(const std::vector<SdesCrypto>& theirs, const std::string& prefer_suite) {
  int found = -1;
  for (size_t i = 0; i < theirs.size(); ++i) {
    if (!supported_suite(theirs[i].suite) || !valid_inline_key(theirs[i].key_params)) continue;
    if (theirs[i].suite == prefer_suite) return static_cast<int>(i);
    if (found < 0) found = static_cast<int>(i);
  }
  return found;
}

const SdesCrypto* local_for_suite(const std::vector<SdesCrypto>& ours, const std::string& suite) {
  for (const SdesCrypto& c : ours)
    if (c.suite == suite) return &c;
  return nullptr;
}

}  // namespace

const char* to_string(MediaDirection d) {
  switch (d) {
    case MediaDirection::kSendRecv: return "sendrecv";
    case MediaDirection::kSendOnly: return "sendonly";
    case MediaDirection::kRecvOnly: return "recvonly";
    case MediaDirection::kInactive: return "inactive";
  }
  return "?";
}

const SdpMedia* SdpSession::audio() const {
  for (const SdpMedia& m : media)
    if (m.kind == "audio") return &m;
  return nullptr;
}

const SdpMedia* SdpSession::video() const {
  for (const SdpMedia& m : media)
    if (m.kind == "video") return &m;
  return nullptr;
}

StatusOr<SdpSession> parse_sdp(const std::string& text) {
  SdpSession s;
  std::string session_ip;
  MediaDirection session_dir = MediaDirection::kSendRecv;
  bool saw_version = false;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (line.size() < 2 || line[1] != '=')
      return invalid_argument("sdp line " + std::to_string(line_no) + ": not <type>=<value>");
    const char type = line[0];
    const std::string value = line.substr(2);
    SdpMedia* m = s.media.empty() ? nullptr : &s.media.back();
    if (type == 'v') {
      saw_version = true;
    } else if (type == 'o') {
      auto f = split_ws(value);
      if (f.size() >= 6) s.origin_ip = f[5];
    } else if (type == 'c') {
      auto f = split_ws(value);
      if (f.size() < 3 || f[0] != "IN" || f[1] != "IP4")
        return invalid_argument("sdp line " + std::to_string(line_no) + ": c= must be 'IN IP4 <address>'");
      std::string ip = f[2].substr(0, f[2].find('/'));
      if (m) m->ip = ip; else session_ip = ip;
    } else if (type == 'm') {
      auto f = split_ws(value);
      int port = 0;
      if (f.size() < 3 || !parse_int(f[1].substr(0, f[1].find('/')), port) || port < 0 || port > 65535)
        return invalid_argument("sdp line " + std::to_string(line_no) + ": m= must be '<media> <port> <proto> <fmt>...'");
      SdpMedia nm;
      nm.kind = f[0];
      nm.port = static_cast<uint16_t>(port);
      nm.rtcp_port = port ? static_cast<uint16_t>(port + 1) : 0;
      nm.proto = f[2];
      nm.direction = session_dir;
      for (size_t i = 3; i < f.size(); ++i) {
        int pt = -1;
        if (!parse_int(f[i], pt) || pt < 0 || pt > 127) continue;  // non-RTP formats
        nm.formats.push_back(static_format(pt));
      }
      s.media.push_back(std::move(nm));
    } else if (type == 'a') {
      const size_t colon = value.find(':');
      const std::string name = value.substr(0, colon);
      const std::string arg = colon == std::string::npos ? std::string() : value.substr(colon + 1);
      MediaDirection dir;
      bool is_dir = true;
      if (name == "sendrecv") dir = MediaDirection::kSendRecv;
      else if (name == "sendonly") dir = MediaDirection::kSendOnly;
      else if (name == "recvonly") dir = MediaDirection::kRecvOnly;
      else if (name == "inactive") dir = MediaDirection::kInactive;
      else is_dir = false;
      if (is_dir) {
        if (m) m->direction = dir; else session_dir = dir;
        continue;
      }
      if (!m) continue;
      if (name == "rtpmap") {
        // <pt> <encoding>/<clock>[/<channels>]
        auto f = split_ws(arg);
        int pt = -1;
        if (f.size() < 2 || !parse_int(f[0], pt)) continue;
        for (SdpFormat& fmt : m->formats) {
          if (fmt.pt != pt) continue;
          std::string enc = f[1];
          size_t slash = enc.find('/');
          fmt.encoding = lower(enc.substr(0, slash));
          fmt.clock_hz = 0;
          if (slash != std::string::npos) {
            std::string rest = enc.substr(slash + 1);
            size_t slash2 = rest.find('/');
            parse_int(rest.substr(0, slash2), fmt.clock_hz);
            if (slash2 != std::string::npos) parse_int(rest.substr(slash2 + 1), fmt.channels);
          }
        }
      } else if (name == "fmtp") {
        const size_t sp = arg.find(' ');
        int pt = -1;
        if (sp == std::string::npos || !parse_int(arg.substr(0, sp), pt)) continue;
        for (SdpFormat& fmt : m->formats)
          if (fmt.pt == pt) fmt.fmtp = arg.substr(sp + 1);
      } else if (name == "crypto") {
        auto f = split_ws(arg);
        SdesCrypto c;
        if (f.size() < 3 || !parse_int(f[0], c.tag)) continue;
        c.suite = f[1];
        c.key_params = f[2];
        m->crypto.push_back(std::move(c));
      } else if (name == "rtcp") {
        auto f = split_ws(arg);
        int p = 0;
        if (!f.empty() && parse_int(f[0], p) && p > 0 && p <= 65535) m->rtcp_port = static_cast<uint16_t>(p);
      }
    }
  }
  if (!saw_version) return invalid_argument("sdp: no v= line");
  for (SdpMedia& m : s.media)
    if (m.ip.empty()) m.ip = session_ip;
  return s;
}

StatusOr<std::vector<SdesCrypto>> make_sdes_crypto() {
  std::vector<SdesCrypto> out;
  const char* suites[] = {kSuite80, kSuite32};
  for (int i = 0; i < 2; ++i) {
    unsigned char key[30];
    if (RAND_bytes(key, sizeof key) != 1) return unavailable("srtp key: the random generator failed");
    unsigned char b64[64];
    const int n = EVP_EncodeBlock(b64, key, sizeof key);
    SdesCrypto c;
    c.tag = i + 1;
    c.suite = suites[i];
    c.key_params = "inline:" + std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
    out.push_back(std::move(c));
  }
  return out;
}

std::string write_offer(const LocalMedia& l) {
  std::ostringstream o;
  write_session_header(o, l);
  o << "m=audio " << l.audio_port << ' ' << proto_of(l.secure) << ' ' << kPtOpus << ' ' << kPtG722 << ' '
    << kPtPcmu << ' ' << kPtPcma << ' ' << kPtTelephoneEvent48k << ' ' << kPtTelephoneEvent8k << "\r\n"
    << "a=rtpmap:" << kPtOpus << " opus/48000/2\r\n"
    << "a=fmtp:" << kPtOpus << " minptime=10;useinbandfec=1\r\n"
    << "a=rtpmap:" << kPtG722 << " G722/8000\r\n"
    << "a=rtpmap:" << kPtPcmu << " PCMU/8000\r\n"
    << "a=rtpmap:" << kPtPcma << " PCMA/8000\r\n"
    << "a=rtpmap:" << kPtTelephoneEvent48k << " telephone-event/48000\r\n"
    << "a=fmtp:" << kPtTelephoneEvent48k << " 0-16\r\n"
    << "a=rtpmap:" << kPtTelephoneEvent8k << " telephone-event/8000\r\n"
    << "a=fmtp:" << kPtTelephoneEvent8k << " 0-16\r\n"
    << "a=ptime:20\r\n";
  if (l.secure)
    for (const SdesCrypto& c : l.audio_crypto) write_crypto(o, c);
  o << "a=sendrecv\r\n";
  if (l.video) {
    o << "m=video " << l.video_port << ' ' << proto_of(l.secure) << ' ' << kPtH264 << ' ' << kPtVp8 << "\r\n"
      << "a=rtpmap:" << kPtH264 << " H264/90000\r\n"
      << "a=fmtp:" << kPtH264 << " packetization-mode=1;profile-level-id=42e01f\r\n"
      << "a=rtpmap:" << kPtVp8 << " VP8/90000\r\n"
      << "a=rtcp-fb:* nack pli\r\n"
      << "a=rtcp-fb:* ccm fir\r\n";
    if (l.secure)
      for (const SdesCrypto& c : l.video_crypto) write_crypto(o, c);
    o << "a=sendrecv\r\n";
  }
  return o.str();
}

bool Negotiated::on_hold() const {
  return remote_audio_port == 0 || remote_direction == MediaDirection::kSendOnly ||
         remote_direction == MediaDirection::kInactive;
}

bool Negotiated::same_media_config(const Negotiated& o) const {
  return audio_codec == o.audio_codec && audio_pt == o.audio_pt && audio_clock_hz == o.audio_clock_hz &&
         telephone_event_pt == o.telephone_event_pt && telephone_event_clock_hz == o.telephone_event_clock_hz &&
         video == o.video && video_codec == o.video_codec && video_pt == o.video_pt && secure == o.secure &&
         local_crypto.suite == o.local_crypto.suite && local_crypto.key_params == o.local_crypto.key_params &&
         remote_crypto.key_params == o.remote_crypto.key_params;
}

namespace {

// Shared by answer and offer handling: audio codec and telephone-event from
// `m` (in its order, `prefer` first when present).
bool choose_audio(const SdpMedia& m, const AudioCodec* prefer, Negotiated& n) {
  const SdpFormat* chosen = nullptr;
  for (const SdpFormat& f : m.formats) {
    AudioCodec c;
    int clock = 0;
    if (!audio_codec_of(f, c, clock)) continue;
    if (!chosen) chosen = &f;
    if (prefer && c == *prefer) { chosen = &f; break; }
    if (!prefer) break;
  }
  if (!chosen) return false;
  audio_codec_of(*chosen, n.audio_codec, n.audio_clock_hz);
  n.audio_pt = chosen->pt;
  n.telephone_event_clock_hz = n.audio_clock_hz;
  n.telephone_event_pt = find_telephone_event(m, n.audio_clock_hz);
  return true;
}

void choose_video(const SdpMedia* v, const VideoCodec* prefer, Negotiated& n) {
  n.video = false;
  n.video_codec = VideoCodec::kNone;
  n.remote_video_port = 0;
  if (!v || v->port == 0) return;
  const SdpFormat* chosen = nullptr;
  VideoCodec chosen_codec = VideoCodec::kNone;
  for (const SdpFormat& f : v->formats) {
    VideoCodec c;
    if (!video_codec_of(f, c)) continue;
    if (!chosen || (prefer && c == *prefer)) { chosen = &f; chosen_codec = c; }
    if (!prefer || c == *prefer) break;
  }
  if (!chosen) return;
  n.video = true;
  n.video_codec = chosen_codec;
  n.video_pt = chosen->pt;
  n.remote_video_ip = v->ip;
  n.remote_video_port = v->port;
  n.remote_video_rtcp_port = v->rtcp_port;
}

}  // namespace

StatusOr<Negotiated> negotiate_answer(const LocalMedia& offer, const SdpSession& answer) {
  const SdpMedia* a = answer.audio();
  if (!a) return invalid_argument("sdp answer: no audio stream");
  if (a->port == 0) return invalid_argument("sdp answer: the endpoint refused the audio stream (port 0)");
  if (a->ip.empty()) return invalid_argument("sdp answer: no connection address (c=) for audio");
  Negotiated n;
  n.remote_ip = a->ip;
  n.remote_audio_port = a->port;
  n.remote_audio_rtcp_port = a->rtcp_port;
  n.remote_direction = a->direction;
  if (!choose_audio(*a, nullptr, n))
    return invalid_argument("sdp answer: no common audio codec (we offer opus, G722, PCMU, PCMA)");
  n.secure = offer.secure;
  if (offer.secure) {
    if (a->proto != "RTP/SAVP")
      return invalid_argument("sdp answer: secure call answered with " + a->proto + ", not RTP/SAVP");
    int found = -1;
    for (size_t i = 0; i < a->crypto.size() && found < 0; ++i) {
      const SdesCrypto& c = a->crypto[i];
      for (const SdesCrypto& ours : offer.audio_crypto)
        if (ours.tag == c.tag && ours.suite == c.suite && valid_inline_key(c.key_params)) found = static_cast<int>(i);
    }
    if (found < 0)
      return invalid_argument("sdp answer: no acceptable crypto (need a=crypto with one of our tags and "
                              "AES_CM_128_HMAC_SHA1_80 or _32 and an inline key)");
    n.remote_crypto = a->crypto[static_cast<size_t>(found)];
    n.local_crypto = *local_for_suite(offer.audio_crypto, n.remote_crypto.suite);
  } else if (a->proto != "RTP/AVP") {
    return invalid_argument("sdp answer: plain call answered with " + a->proto + ", not RTP/AVP");
  }
  if (offer.video) choose_video(answer.video(), nullptr, n);
  return n;
}

StatusOr<Negotiated> negotiate_offer(const LocalMedia& local, const Negotiated& current, const SdpSession& offer) {
  const SdpMedia* a = offer.audio();
  if (!a) return invalid_argument("sdp offer: no audio stream");
  Negotiated n = current;
  n.remote_direction = a->direction;
  n.remote_audio_port = a->port;
  if (a->port == 0) return n;  // hold by port 0: keep the codecs
  if (a->ip.empty()) return invalid_argument("sdp offer: no connection address (c=) for audio");
  n.remote_ip = a->ip;
  n.remote_audio_rtcp_port = a->rtcp_port;
  if (!choose_audio(*a, &current.audio_codec, n))
    return invalid_argument("sdp offer: no common audio codec");
  if (current.secure) {
    if (a->proto != "RTP/SAVP") return invalid_argument("sdp offer: a secure call must stay RTP/SAVP");
    const int i = pick_crypto(a->crypto, current.local_crypto.suite);
    if (i < 0) return invalid_argument("sdp offer: no acceptable crypto");
    n.remote_crypto = a->crypto[static_cast<size_t>(i)];
    const SdesCrypto* ours = local_for_suite(local.audio_crypto, n.remote_crypto.suite);
    if (!ours) return invalid_argument("sdp offer: no local key for " + n.remote_crypto.suite);
    n.local_crypto = *ours;
    n.local_crypto.tag = n.remote_crypto.tag;  // an answer echoes the chosen tag
  } else if (a->proto != "RTP/AVP") {
    return invalid_argument("sdp offer: " + a->proto + " on a call set up as RTP/AVP");
  }
  if (local.video && current.video) choose_video(offer.video(), &current.video_codec, n);
  return n;
}

std::string write_answer(const LocalMedia& l, const Negotiated& n) {
  std::ostringstream o;
  write_session_header(o, l);
  const MediaDirection dir = mirror(n.remote_direction);
  if (n.remote_audio_port == 0) {
    o << "m=audio 0 " << proto_of(n.secure) << ' ' << n.audio_pt << "\r\n";
  } else {
    o << "m=audio " << l.audio_port << ' ' << proto_of(n.secure) << ' ' << n.audio_pt;
    if (n.telephone_event_pt >= 0) o << ' ' << n.telephone_event_pt;
    o << "\r\n";
    const char* name = n.audio_codec == AudioCodec::kOpus   ? "opus/48000/2"
                       : n.audio_codec == AudioCodec::kG722 ? "G722/8000"
                       : n.audio_codec == AudioCodec::kPcma ? "PCMA/8000"
                                                            : "PCMU/8000";
    o << "a=rtpmap:" << n.audio_pt << ' ' << name << "\r\n";
    if (n.telephone_event_pt >= 0)
      o << "a=rtpmap:" << n.telephone_event_pt << " telephone-event/" << n.telephone_event_clock_hz << "\r\n"
        << "a=fmtp:" << n.telephone_event_pt << " 0-16\r\n";
    o << "a=ptime:20\r\n";
    if (n.secure) write_crypto(o, n.local_crypto);
    o << direction_attr(dir);
  }
  if (l.video) {
    if (!n.video || n.remote_video_port == 0) {
      o << "m=video 0 " << proto_of(n.secure) << ' ' << kPtH264 << "\r\n";
    } else {
      o << "m=video " << l.video_port << ' ' << proto_of(n.secure) << ' ' << n.video_pt << "\r\n";
      if (n.video_codec == VideoCodec::kH264)
        o << "a=rtpmap:" << n.video_pt << " H264/90000\r\n"
          << "a=fmtp:" << n.video_pt << " packetization-mode=1;profile-level-id=42e01f\r\n";
      else
        o << "a=rtpmap:" << n.video_pt << " VP8/90000\r\n";
      o << "a=rtcp-fb:* nack pli\r\na=rtcp-fb:* ccm fir\r\n";
      if (n.secure) {
        const SdesCrypto* vc = local_for_suite(l.video_crypto, n.local_crypto.suite);
        if (vc) {
          SdesCrypto c = *vc;
          c.tag = n.local_crypto.tag;
          write_crypto(o, c);
        }
      }
      o << direction_attr(dir);
    }
  }
  return o.str();
}

void apply_to_leg(const Negotiated& n, LegConfig& leg) {
  leg.audio_codec = n.audio_codec;
  leg.audio_payload_type = static_cast<uint8_t>(n.audio_pt);
  leg.audio_clock_hz = n.audio_clock_hz;
  leg.telephone_event_payload_type = n.telephone_event_pt;
  leg.telephone_event_clock_hz = n.telephone_event_clock_hz;
  leg.video = n.video;
  if (n.video) {
    leg.video_codec = n.video_codec;
    leg.video_payload_type = static_cast<uint8_t>(n.video_pt);
  }
  leg.secure = n.secure;
  if (n.secure) {
    // Negotiation only accepts the suites we offered, so the name parses.
    const StatusOr<SrtpSuite> suite = parse_srtp_suite(n.local_crypto.suite);
    assert(suite.ok());
    if (suite.ok()) leg.srtp_suite = *suite;
    leg.srtp_key_to_leg = n.local_crypto.key_params;
    leg.srtp_key_from_leg = n.remote_crypto.key_params;
  }
}

}  // namespace sipmix::gw
