// sipmixd's SDP: the offer we send with an INVITE, the parser for what the
// endpoint answers (or offers in a re-INVITE/UPDATE), and the negotiation that
// turns both into the engine's LegConfig. Pure functions: any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sipmix/session.h"
#include "sipmix/status.h"

namespace sipmix::gw {

enum class MediaDirection { kSendRecv, kSendOnly, kRecvOnly, kInactive };
const char* to_string(MediaDirection d);

// One a=crypto line (RFC 4568).
struct SdesCrypto {
  int tag = 1;
  std::string suite;       // AES_CM_128_HMAC_SHA1_80 or AES_CM_128_HMAC_SHA1_32
  std::string key_params;  // "inline:<base64>[|...]"
};

// What we offer: our addresses, ports and keys. The codecs are fixed
// (Opus, G.722, PCMU, PCMA + telephone-event; H.264 and VP8 with video).
struct LocalMedia {
  std::string ip;  // IPv4 address written in c= and o=
  uint16_t audio_port = 0;
  uint16_t video_port = 0;  // used when video
  bool secure = false;
  bool video = false;
  std::vector<SdesCrypto> audio_crypto;  // one per suite, when secure
  std::vector<SdesCrypto> video_crypto;
  uint64_t session_id = 1;
  uint64_t version = 1;  // bump on every SDP we send in the dialog
};

// Payload types of our offer.
inline constexpr int kPtOpus = 111, kPtG722 = 9, kPtPcmu = 0, kPtPcma = 8;
inline constexpr int kPtTelephoneEvent8k = 101, kPtTelephoneEvent48k = 110;
inline constexpr int kPtH264 = 96, kPtVp8 = 97;

struct SdpFormat {
  int pt = -1;
  std::string encoding;  // lower case: "opus", "pcmu", "telephone-event", "h264", ...
  int clock_hz = 0;
  int channels = 1;
  std::string fmtp;
};

struct SdpMedia {
  std::string kind;   // "audio", "video", other
  std::string proto;  // "RTP/AVP", "RTP/SAVP", ...
  std::string ip;     // media c= or the session's
  uint16_t port = 0;  // 0: stream refused / disabled
  uint16_t rtcp_port = 0;
  MediaDirection direction = MediaDirection::kSendRecv;
  std::vector<SdpFormat> formats;  // in m= line order
  std::vector<SdesCrypto> crypto;
};

struct SdpSession {
  std::string origin_ip;
  std::vector<SdpMedia> media;
  const SdpMedia* audio() const;
  const SdpMedia* video() const;
};

// Parses an SDP body. Errors name the line that is wrong.
StatusOr<SdpSession> parse_sdp(const std::string& text);

// Fresh SDES crypto lines for both suites, keys from OpenSSL's RNG.
StatusOr<std::vector<SdesCrypto>> make_sdes_crypto();

std::string write_offer(const LocalMedia& local);

// What offer/answer settled: where to send, and the leg's codecs and keys.
struct Negotiated {
  std::string remote_ip;
  uint16_t remote_audio_port = 0, remote_audio_rtcp_port = 0;
  std::string remote_video_ip;
  uint16_t remote_video_port = 0, remote_video_rtcp_port = 0;  // 0: no video
  MediaDirection remote_direction = MediaDirection::kSendRecv;  // as the endpoint states it
  AudioCodec audio_codec = AudioCodec::kPcmu;
  int audio_pt = 0;
  int audio_clock_hz = 8000;
  int telephone_event_pt = -1;
  int telephone_event_clock_hz = 8000;
  bool video = false;
  VideoCodec video_codec = VideoCodec::kNone;
  int video_pt = 0;
  bool secure = false;
  SdesCrypto local_crypto;   // ours: protects what we send
  SdesCrypto remote_crypto;  // theirs: what they send us
  bool on_hold() const;      // endpoint sends only, or nothing, or port 0
  bool same_media_config(const Negotiated& o) const;  // codecs and keys equal
};

// The endpoint's answer to our offer. Errors say why no call is possible:
// no common audio codec, no acceptable crypto for a secure call, ...
StatusOr<Negotiated> negotiate_answer(const LocalMedia& offer, const SdpSession& answer);

// An offer from the endpoint inside the dialog (re-INVITE/UPDATE). `current`
// is what the call uses now (kept when the offer allows it).
StatusOr<Negotiated> negotiate_offer(const LocalMedia& local, const Negotiated& current, const SdpSession& offer);
// Our answer to such an offer: one audio codec (+ telephone-event), video
// when negotiated, the direction that mirrors the endpoint's.
std::string write_answer(const LocalMedia& local, const Negotiated& n);

// Fills the codec, payload type, clock, telephone-event, video and SRTP
// fields of `leg` (ids and options stay as they are).
void apply_to_leg(const Negotiated& n, LegConfig& leg);

}  // namespace sipmix::gw
