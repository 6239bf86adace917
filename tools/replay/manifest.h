// The replay manifest: a JSON description of one session to replay offline
// (participants' media files or captures, the SIP leg, a timeline, network
// impairment). Schema: docs/manifest.md. Parsing validates everything and
// names the offending field; file paths are resolved against the manifest's
// folder and checked for readability here, before any output is written.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sipmix/session.h"
#include "sipmix/status.h"

namespace sipmix::replay {

struct Impairment {
  double loss = 0;         // probability a packet is dropped
  int jitter_ms = 0;       // extra delay, uniform in [0, jitter_ms]
  double reorder = 0;      // probability a packet is held back behind the next
  double duplicate = 0;    // probability a packet is sent twice
  int burst_loss_ms = 0;   // with burst_every_s: drop everything for this long
  int burst_every_s = 0;
  bool any() const { return loss > 0 || jitter_ms > 0 || reorder > 0 || duplicate > 0 || burst_loss_ms > 0; }
};

// An RTP capture feeding one stream: UDP payloads with `payload_type`
// (others in the file are ignored unless `any_payload_type`).
struct PcapInput {
  std::string path;
  std::optional<int> payload_type;  // filter; unset: every RTP packet
  std::optional<int> udp_port;      // filter on the destination port
  // The stream's payload type: the filter's, or learned from the capture
  // (its most common one) before the replay starts; -1 until then.
  int stream_payload_type = -1;
};

struct ParticipantInput {
  std::string id;
  std::string media;                // a media file (audio and/or video)
  std::optional<PcapInput> audio_pcap;
  std::optional<PcapInput> video_pcap;
  AudioCodec pcap_audio_codec = AudioCodec::kOpus;
  VideoCodec pcap_video_codec = VideoCodec::kVp8;
  bool audio = true;                // use the file's audio
  bool video = true;                // use the file's video
  double join_at_s = 0;
  std::optional<double> leave_at_s;
  double offset_s = 0;              // skip into the file
  bool loop = false;                // loop the file to the session's duration
  // Generated sources instead of files: a labelled picture with a moving
  // bar (VP8) and a tone (Opus), or `speech` (a speech file, looped).
  bool synth = false;
  std::string speech;
  Impairment impairment;
};

struct LegInput {
  LegConfig config;
  std::string media;                         // what the caller says (audio file)
  std::optional<PcapInput> audio_pcap;       // or a capture of its audio
  std::vector<PcapInput> event_pcaps;        // captures of its RFC 4733 events, played in order
  double event_pcaps_at_s = 1.0;             // when the first event capture starts
  double event_pcaps_gap_s = 0.5;            // silence between event captures
  double synth_tone_hz = 0;                  // or a generated tone as its voice
  Impairment impairment;
};

struct TimelineEntry {
  enum class Action { kJoin, kLeave, kForceMute, kForceMuteSession, kPlayDtmf, kPressDtmf, kKeyframeRequest };
  double at_s = 0;
  Action action = Action::kJoin;
  std::string target;  // participant or leg id
  bool muted = true;
  bool active = false;
  std::vector<std::string> excluded;
  std::string digits;
};

struct Manifest {
  std::string path;  // the manifest file itself ("" for the built-in demo)
  double duration_s = 0;  // 0: until the longest input ends
  uint64_t seed = 1;
  SessionConfig session;
  std::vector<ParticipantInput> participants;
  LegInput leg;
  std::vector<TimelineEntry> timeline;
  int contact_sheet_every_s = 2;
};

// Reads and validates a manifest file. Errors are one line:
//   "manifest.json: participants[1].media: no such file: bob.webm"
StatusOr<Manifest> load_manifest(const std::string& path);
// Same, from JSON text; `base_dir` resolves relative paths.
StatusOr<Manifest> parse_manifest(const std::string& json_text, const std::string& base_dir,
                                  const std::string& display_name);

}  // namespace sipmix::replay
