// Packet sources for the replay: each turns one input (a media file, a
// capture, generated media, key presses) into RTP packets stamped with the
// media time at which a real sender would send them. Replay thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "sipmix/session.h"
#include "tests/support/pcap.h"
#include "tools/replay/manifest.h"
#include "tools/replay/media_reader.h"
#include "tools/replay/synth.h"

namespace sipmix::replay {

// Captures are read and written by the one pcap reader/writer (tests/support).
using pcap::IpEndpoint;
using pcap::PcapReader;
using pcap::PcapWriter;
using pcap::UdpPacket;
using pcap::read_pcap_udp;

// Which session input a packet goes to.
enum class Target { kAudio, kVideo, kLeg };

struct TimedPacket {
  int64_t t_us = 0;  // media time of delivery
  Target target = Target::kAudio;
  int participant = -1;  // index in the manifest, -1 for the leg
  std::vector<uint8_t> data;
};

class PacketSource {
 public:
  virtual ~PacketSource() = default;
  // Appends the packets sent before `until_us`. Returns false once exhausted.
  virtual StatusOr<bool> produce(int64_t until_us, std::vector<TimedPacket>& out) = 0;
  // Media time the source ends (-1: unknown or endless).
  virtual int64_t end_us() const { return -1; }
  // A PLI/FIR reached the sender: a live encoder makes a keyframe; recorded
  // media cannot, and ignores it.
  virtual void on_keyframe_request() {}
  // The participant this source sends for (-1: the SIP leg).
  virtual int participant() const { return -1; }
};

// A participant's media file: Opus, VP8 and H.264 pass through; other audio
// is decoded by the reader and encoded to Opus here.
StatusOr<std::unique_ptr<PacketSource>> make_file_source(const ParticipantInput& in, int participant,
                                                          int64_t session_end_us);
// A generated participant: labelled VP8 picture and a tone or looped speech.
StatusOr<std::unique_ptr<PacketSource>> make_synth_source(const ParticipantInput& in, int participant,
                                                           int64_t session_end_us);
// A capture's timing as the replay plays it: packets in file order, the
// first at 0; a timestamp before the previous packet's counts as the previous
// packet's time, and a gap longer than kMaxCaptureGapUs is shortened to it.
inline constexpr int64_t kMaxCaptureGapUs = 10'000'000;

// What a capture holds for one input, found before the replay starts.
struct CaptureScan {
  int payload_type = -1;    // the filter's, or the most common RTP payload type
  int64_t packets = 0;      // RTP packets that pass the port (and payload type) filter
  int64_t other_payload_types = 0;  // of those, packets with another payload type
  int64_t length_us = 0;    // first to last packet, after the timing rule above
};
// Reads the whole capture once. Errors name the path (unreadable, not a
// capture, no RTP packet passing the filters).
StatusOr<CaptureScan> scan_capture(const PcapInput& in);

// RTP from a capture, rebased to start at `start_us`, read as the replay goes
// (memory does not grow with the capture). With no payload type filter every
// RTP packet is sent.
StatusOr<std::unique_ptr<PacketSource>> make_pcap_source(const PcapInput& in, Target target, int participant,
                                                          int64_t start_us);
// The SIP caller's voice: a file, or a tone, encoded in the leg's codec.
StatusOr<std::unique_ptr<PacketSource>> make_leg_voice_source(const LegInput& leg, int64_t session_end_us);
// The caller pressing keys at `at_us`: RFC 4733 packets, as a phone sends them.
StatusOr<std::unique_ptr<PacketSource>> make_key_press_source(const LegConfig& leg, const std::string& digits,
                                                               int64_t at_us);

// Network impairment of one source's packets, seeded.
class Impairer {
 public:
  Impairer(const Impairment& imp, uint64_t seed) : imp_(imp), rng_(seed) {}
  // Moves `in` into `out` with loss, delay, reordering and duplication.
  void apply(std::vector<TimedPacket>& in, std::vector<TimedPacket>& out);

 private:
  Impairment imp_;
  std::mt19937_64 rng_;
};

}  // namespace sipmix::replay
