#include "tools/replay/sources.h"

#include <algorithm>
#include <cmath>

#include "sipmix/peer.h"

namespace sipmix::replay {
namespace {

constexpr uint8_t kOpusPt = 111;
constexpr uint8_t kVp8Pt = 100;
constexpr uint8_t kH264Pt = 102;
constexpr int64_t kFrameUs = 20000;

uint32_t participant_ssrc(int participant, int role) { return 0x10000000u + static_cast<uint32_t>(participant) * 16 + role; }

// A participant's Opus stream at 32 kb/s: encodes 20 ms 48 kHz frames, or
// (encode false) stamps Opus read from a file. Sequence numbers start at 1.
StatusOr<std::unique_ptr<PeerSender>> opus_sender(int participant, bool encode) {
  PeerSenderConfig c;
  c.audio_codec = AudioCodec::kOpus;
  c.audio_bitrate_bps = 32000;
  c.encode = encode;
  c.payload_type = kOpusPt;
  c.ssrc = participant_ssrc(participant, 1);
  c.first_sequence_number = 1;
  return PeerSender::create(c);
}

// A participant's video stream: encodes pictures (640x360 VP8 at 400 kb/s, the
// synthetic participants) or (encode false) packetizes frames read from a
// file. Sequence numbers start at the SSRC's low 16 bits.
StatusOr<std::unique_ptr<PeerSender>> video_sender(int participant, VideoCodec codec, bool encode) {
  PeerSenderConfig c;
  c.kind = sipmix::MediaKind::kVideo;
  c.encode = encode;
  c.video_codec = codec;
  c.width = 640;
  c.height = 360;
  c.fps = 30;
  c.video_bitrate_bps = 400000;
  c.max_packets_per_frame = 2048;
  c.payload_type = codec == VideoCodec::kH264 ? kH264Pt : kVp8Pt;
  c.ssrc = participant_ssrc(participant, 2);
  c.first_sequence_number = static_cast<uint16_t>(c.ssrc);
  return PeerSender::create(c);
}

// Stamps an Opus payload (encoded, or encoded now from `pcm`) taken at `t_us`.
void add_opus(PeerSender& opus, std::span<const uint8_t> payload, std::span<const int16_t> pcm, int64_t t_us,
              int participant, std::vector<TimedPacket>& out) {
  opus.header().timestamp = static_cast<uint32_t>(t_us * 48 / 1000);
  std::vector<uint8_t> p = pcm.empty() ? opus.packet(payload) : opus.audio_packet(pcm);
  if (!p.empty()) out.push_back({t_us, Target::kAudio, participant, std::move(p)});
}

void add_video(std::span<const std::span<const uint8_t>> packets, int64_t t_us, int participant,
               std::vector<TimedPacket>& out) {
  for (std::span<const uint8_t> p : packets) out.push_back({t_us, Target::kVideo, participant, {p.begin(), p.end()}});
}

class FileSource final : public PacketSource {
 public:
  FileSource(const ParticipantInput& in, int participant, int64_t end_us, std::unique_ptr<MediaReader> reader,
             std::unique_ptr<PeerSender> video, std::unique_ptr<PeerSender> opus, std::unique_ptr<PeerSender> opus_rtp)
      : in_(in), participant_(participant), end_us_(end_us), reader_(std::move(reader)), video_(std::move(video)),
        opus_(std::move(opus)), opus_rtp_(std::move(opus_rtp)) {
    base_us_ = static_cast<int64_t>(in.join_at_s * 1e6);
    offset_us_ = static_cast<int64_t>(in.offset_s * 1e6);
  }

  StatusOr<bool> produce(int64_t until_us, std::vector<TimedPacket>& out) override {
    while (!done_) {
      if (pending_) {
        const int64_t t = base_us_ + pending_t_;
        if (t >= until_us) return true;
        if (t >= end_us_) {
          done_ = true;
          break;
        }
        emit(t, out);
        pending_ = false;
      }
      auto r = reader_->next(pkt_);
      if (!r.ok()) return r.status();
      if (!*r) {
        if (!in_.loop || last_pts_us_ <= 0) {
          done_ = true;
          break;
        }
        auto again = MediaReader::open(in_.media, false);
        if (!again.ok()) return again.status();
        reader_ = std::move(*again);
        base_us_ += last_pts_us_ + kFrameUs - offset_us_;
        offset_us_ = 0;
        last_pts_us_ = 0;
        gap_us_ = 0;
        continue;
      }
      if (pkt_.pts_us < offset_us_) continue;
      const bool audio = pkt_.kind == MediaKind::kAudio;
      if (audio ? !in_.audio : !in_.video) continue;
      if (!audio && !video_) continue;
      // A jump in the file's timestamps is shortened like a capture's gap, so
      // that a broken timestamp cannot stall the replay.
      if (pkt_.pts_us - offset_us_ - gap_us_ > last_pts_us_ + kMaxCaptureGapUs)
        gap_us_ = pkt_.pts_us - offset_us_ - last_pts_us_ - kMaxCaptureGapUs;
      pending_t_ = pkt_.pts_us - offset_us_ - gap_us_;
      last_pts_us_ = std::max(last_pts_us_, pending_t_);
      pending_ = true;
    }
    return false;
  }
  int64_t end_us() const override { return end_us_; }

 private:
  void emit(int64_t t, std::vector<TimedPacket>& out) {
    if (pkt_.kind == MediaKind::kVideo) {
      add_video(video_->packetize_video(pkt_.data, static_cast<uint32_t>(t * 9 / 100)), t, participant_, out);
    } else if (pkt_.codec == MediaCodec::kOpus) {
      add_opus(*opus_rtp_, pkt_.data, {}, t, participant_, out);
    } else if (pkt_.codec == MediaCodec::kPcm && pkt_.pcm.size() == static_cast<size_t>(kPcmFrameSamples)) {
      add_opus(*opus_, {}, pkt_.pcm, t, participant_, out);
    }
  }

  ParticipantInput in_;
  int participant_;
  int64_t end_us_;
  std::unique_ptr<MediaReader> reader_;
  std::unique_ptr<PeerSender> video_;     // packetizes the file's VP8 or H.264
  std::unique_ptr<PeerSender> opus_;      // encodes the file's other audio
  std::unique_ptr<PeerSender> opus_rtp_;  // stamps the file's Opus
  MediaPacket pkt_;
  bool pending_ = false, done_ = false;
  int64_t pending_t_ = 0, base_us_ = 0, offset_us_ = 0, last_pts_us_ = 0;
  int64_t gap_us_ = 0;  // removed from the file's timestamps by the gap rule
};

class SynthSource final : public PacketSource {
 public:
  SynthSource(int participant, int64_t start_us, int64_t end_us, VideoSynth vs, AudioSynth as,
              std::unique_ptr<PeerSender> video, std::unique_ptr<PeerSender> opus, bool send_audio, bool send_video)
      : participant_(participant), start_us_(start_us), end_us_(end_us), vs_(std::move(vs)), as_(std::move(as)),
        video_(std::move(video)), opus_(std::move(opus)),
        next_audio_(send_audio ? start_us : end_us), next_video_(send_video ? start_us : end_us) {}

  StatusOr<bool> produce(int64_t until_us, std::vector<TimedPacket>& out) override {
    std::array<int16_t, AudioSynth::kFrameSamples> pcm;
    while (next_audio_ < until_us && next_audio_ < end_us_) {
      as_.next_frame(pcm);
      add_opus(*opus_, {}, pcm, next_audio_, participant_, out);
      next_audio_ += kFrameUs;
    }
    while (next_video_ < until_us && next_video_ < end_us_) {
      add_video(video_->video_packets(vs_.render(frame_), next_video_), next_video_, participant_, out);
      ++frame_;
      next_video_ = start_us_ + frame_ * 1000000 / 30;
    }
    return next_audio_ < end_us_ || next_video_ < end_us_;
  }
  int64_t end_us() const override { return end_us_; }
  void on_keyframe_request() override { video_->request_keyframe(); }
  int participant() const override { return participant_; }

 private:
  int participant_;
  int64_t start_us_, end_us_;
  VideoSynth vs_;
  AudioSynth as_;
  std::unique_ptr<PeerSender> video_;  // encodes and packetizes the pictures
  std::unique_ptr<PeerSender> opus_;
  int64_t next_audio_, next_video_;
  int64_t frame_ = 0;
};

// Applies the capture timing rule (see kMaxCaptureGapUs) packet by packet.
class CaptureClock {
 public:
  int64_t next(int64_t capture_us) {
    if (first_) {
      first_ = false;
    } else {
      t_us_ += std::clamp<int64_t>(capture_us - prev_us_, 0, kMaxCaptureGapUs);
    }
    prev_us_ = capture_us;
    return t_us_;
  }

 private:
  bool first_ = true;
  int64_t prev_us_ = 0, t_us_ = 0;
};

// RTCP shares the RTP port under RFC 5761; its packet types 200..204 read as
// RTP payload types 72..76 with the marker bit set.
bool is_rtp(std::span<const uint8_t> payload, RtpPacketInfo* view) {
  auto v = parse_rtp_packet(payload);
  if (!v || (v->payload_type >= 72 && v->payload_type <= 76)) return false;
  *view = *v;
  return true;
}

class PcapSource final : public PacketSource {
 public:
  PcapSource(PcapInput in, std::unique_ptr<PcapReader> reader, Target target, int participant, int64_t start_us,
             int64_t length_us)
      : in_(std::move(in)), reader_(std::move(reader)), target_(target), participant_(participant),
        start_us_(start_us), length_us_(length_us) {}
  StatusOr<bool> produce(int64_t until_us, std::vector<TimedPacket>& out) override {
    for (;;) {
      if (pending_) {
        if (pending_t_ >= until_us) return true;
        out.push_back({pending_t_, target_, participant_, std::move(packet_.payload)});
        pending_ = false;
      }
      if (done_) return false;
      auto more = reader_->next(packet_);
      if (!more.ok()) return more.status();
      if (!*more) {
        done_ = true;
        return false;
      }
      if (in_.udp_port && packet_.dst.port != *in_.udp_port) continue;
      RtpPacketInfo v;
      if (!is_rtp(packet_.payload, &v)) continue;
      if (in_.payload_type && v.payload_type != *in_.payload_type) continue;
      pending_t_ = start_us_ + clock_.next(packet_.timestamp_us);
      pending_ = true;
    }
  }
  int64_t end_us() const override { return start_us_ + length_us_; }

 private:
  PcapInput in_;
  std::unique_ptr<PcapReader> reader_;
  Target target_;
  int participant_;
  int64_t start_us_, length_us_;
  CaptureClock clock_;
  UdpPacket packet_;
  bool pending_ = false, done_ = false;
  int64_t pending_t_ = 0;
};

class LegVoiceSource final : public PacketSource {
 public:
  LegVoiceSource(const LegConfig& c, std::vector<int16_t> pcm48, double tone_hz, int64_t end_us,
                 std::unique_ptr<PeerSender> voice)
      : pcm48_(std::move(pcm48)), tone_hz_(tone_hz), end_us_(end_us), voice_(std::move(voice)),
        clock_hz_(c.audio_clock_hz) {}

  StatusOr<bool> produce(int64_t until_us, std::vector<TimedPacket>& out) override {
    std::array<int16_t, 960> frame;
    while (t_ < until_us && t_ < end_us_) {
      if (tone_hz_ > 0) {
        for (auto& s : frame) {
          s = static_cast<int16_t>(std::lround(6000 * std::sin(phase_)));
          phase_ = std::fmod(phase_ + 2 * M_PI * tone_hz_ / 48000, 2 * M_PI);
        }
      } else {
        for (auto& s : frame) s = pos_ < pcm48_.size() ? pcm48_[pos_++] : 0;
      }
      voice_->header().timestamp = static_cast<uint32_t>(t_ * clock_hz_ / 1000000);
      std::vector<uint8_t> p = voice_->audio_packet(frame);
      if (!p.empty()) out.push_back({t_, Target::kLeg, -1, std::move(p)});
      t_ += kFrameUs;
    }
    return t_ < end_us_;
  }
  int64_t end_us() const override { return end_us_; }

 private:
  std::vector<int16_t> pcm48_;
  double tone_hz_;
  int64_t end_us_;
  std::unique_ptr<PeerSender> voice_;  // 48 kHz in, the leg's codec out
  int64_t clock_hz_;
  size_t pos_ = 0;
  double phase_ = 0;
  int64_t t_ = 0;
};

class KeyPressSource final : public PacketSource {
 public:
  KeyPressSource(std::unique_ptr<PeerSender> keys, int64_t at_us, uint32_t clock_hz)
      : keys_(std::move(keys)), t_(at_us), clock_hz_(clock_hz) {}
  StatusOr<bool> produce(int64_t until_us, std::vector<TimedPacket>& out) override {
    while (!keys_->dtmf_idle() && t_ < until_us) {
      keys_->header().timestamp = static_cast<uint32_t>(t_ * clock_hz_ / 1000000);
      std::vector<uint8_t> p = keys_->dtmf_packet();
      if (!p.empty()) out.push_back({t_, Target::kLeg, -1, std::move(p)});
      t_ += kFrameUs;
    }
    return !keys_->dtmf_idle();
  }

 private:
  std::unique_ptr<PeerSender> keys_;  // RFC 4733 events only
  int64_t t_;
  int64_t clock_hz_;
};

}  // namespace

StatusOr<std::unique_ptr<PacketSource>> make_file_source(const ParticipantInput& in, int participant, int64_t end_us) {
  auto reader = MediaReader::open(in.media, false);
  if (!reader.ok()) return reader.status();
  std::unique_ptr<PeerSender> video;
  const int vi = (*reader)->find_stream(MediaKind::kVideo);
  if (in.video && vi >= 0) {
    const MediaCodec c = (*reader)->streams()[vi].codec;
    if (c != MediaCodec::kVp8 && c != MediaCodec::kH264)
      return invalid_argument(in.media + ": video codec " + (*reader)->streams()[vi].codec_name +
                              " is not sent as RTP (use VP8 or H.264)");
    auto vp = video_sender(participant, c == MediaCodec::kH264 ? VideoCodec::kH264 : VideoCodec::kVp8, false);
    if (!vp.ok()) return vp.status();
    video = std::move(*vp);
  }
  auto opus = opus_sender(participant, true);
  if (!opus.ok()) return opus.status();
  auto opus_rtp = opus_sender(participant, false);
  if (!opus_rtp.ok()) return opus_rtp.status();
  return std::unique_ptr<PacketSource>(new FileSource(in, participant, end_us, std::move(*reader), std::move(video),
                                                      std::move(*opus), std::move(*opus_rtp)));
}

StatusOr<std::unique_ptr<PacketSource>> make_synth_source(const ParticipantInput& in, int participant, int64_t end_us) {
  VideoSynth vs(participant, in.id, 640, 360);
  AudioSynth as = AudioSynth::tone(participant);
  if (!in.speech.empty()) {
    auto s = AudioSynth::looped_file(in.speech, 700);
    if (!s.ok()) return s.status();
    as = std::move(*s);
  }
  auto video = video_sender(participant, VideoCodec::kVp8, true);
  if (!video.ok()) return video.status();
  auto opus = opus_sender(participant, true);
  if (!opus.ok()) return opus.status();
  const int64_t start = static_cast<int64_t>(in.join_at_s * 1e6);
  return std::unique_ptr<PacketSource>(new SynthSource(participant, start, end_us, std::move(vs), std::move(as),
                                                       std::move(*video), std::move(*opus), in.audio, in.video));
}

StatusOr<CaptureScan> scan_capture(const PcapInput& in) {
  auto reader = PcapReader::open(in.path);
  if (!reader.ok()) return reader.status();
  CaptureScan scan;
  std::array<int64_t, 128> per_type{};
  CaptureClock clock;
  UdpPacket p;
  int64_t rtp_packets = 0;
  for (;;) {
    auto more = (*reader)->next(p);
    if (!more.ok()) return more.status();
    if (!*more) break;
    if (in.udp_port && p.dst.port != *in.udp_port) continue;
    RtpPacketInfo v;
    if (!is_rtp(p.payload, &v)) continue;
    ++rtp_packets;
    if (in.payload_type && v.payload_type != *in.payload_type) continue;
    ++per_type[v.payload_type & 0x7f];
    ++scan.packets;
    scan.length_us = clock.next(p.timestamp_us);
  }
  if (scan.packets == 0) {
    if (in.payload_type && rtp_packets > 0)
      return invalid_argument(in.path + ": no RTP packet with payload type " + std::to_string(*in.payload_type) +
                              (in.udp_port ? " to port " + std::to_string(*in.udp_port) : std::string()));
    return invalid_argument(in.path + ": no RTP packets" +
                            (in.udp_port ? " to port " + std::to_string(*in.udp_port) : std::string()));
  }
  scan.payload_type = static_cast<int>(std::max_element(per_type.begin(), per_type.end()) - per_type.begin());
  scan.other_payload_types = scan.packets - per_type[scan.payload_type];
  return scan;
}

StatusOr<std::unique_ptr<PacketSource>> make_pcap_source(const PcapInput& in, Target target, int participant,
                                                          int64_t start_us) {
  auto scan = scan_capture(in);
  if (!scan.ok()) return scan.status();
  auto reader = PcapReader::open(in.path);
  if (!reader.ok()) return reader.status();
  return std::unique_ptr<PacketSource>(
      new PcapSource(in, std::move(*reader), target, participant, start_us, scan->length_us));
}

StatusOr<std::unique_ptr<PacketSource>> make_leg_voice_source(const LegInput& leg, int64_t end_us) {
  const LegConfig& c = leg.config;
  std::vector<int16_t> pcm;
  if (!leg.media.empty()) {
    auto r = read_audio_file_48k_mono(leg.media);
    if (!r.ok()) return r.status();
    pcm = std::move(*r);
  }
  PeerSenderConfig vc;
  vc.audio_codec = c.audio_codec;
  vc.input_sample_rate_hz = 48000;
  vc.payload_type = c.audio_payload_type;
  vc.ssrc = 0x5A5A0001u;
  vc.first_sequence_number = 1;
  auto voice = PeerSender::create(vc);
  if (!voice.ok()) return voice.status();
  return std::unique_ptr<PacketSource>(
      new LegVoiceSource(c, std::move(pcm), leg.synth_tone_hz, end_us, std::move(*voice)));
}

StatusOr<std::unique_ptr<PacketSource>> make_key_press_source(const LegConfig& leg, const std::string& digits,
                                                               int64_t at_us) {
  if (leg.telephone_event_payload_type < 0) return invalid_argument("press_dtmf: the leg has no telephone-event");
  PeerSenderConfig kc;
  kc.audio_codec = leg.audio_codec;
  kc.encode = false;
  kc.payload_type = static_cast<uint8_t>(leg.telephone_event_payload_type);
  kc.telephone_event_payload_type = leg.telephone_event_payload_type;
  kc.clock_rate_hz = leg.telephone_event_clock_hz;
  kc.ssrc = 0x5A5A0002u;  // a separate SSRC for events, as some phones do
  kc.first_sequence_number = 3000;
  auto keys = PeerSender::create(kc);
  if (!keys.ok()) return keys.status();
  if (Status st = (*keys)->play_dtmf(digits); !st.ok()) return st;
  return std::unique_ptr<PacketSource>(
      new KeyPressSource(std::move(*keys), at_us, static_cast<uint32_t>(leg.telephone_event_clock_hz)));
}

void Impairer::apply(std::vector<TimedPacket>& in, std::vector<TimedPacket>& out) {
  std::uniform_real_distribution<double> u(0, 1);
  for (auto& p : in) {
    if (imp_.burst_loss_ms > 0) {
      const int64_t period = int64_t{imp_.burst_every_s} * 1000000;
      const int64_t phase = p.t_us % period;
      if (p.t_us >= period && phase < int64_t{imp_.burst_loss_ms} * 1000) continue;
    }
    if (imp_.loss > 0 && u(rng_) < imp_.loss) continue;
    if (imp_.jitter_ms > 0) p.t_us += static_cast<int64_t>(u(rng_) * imp_.jitter_ms * 1000);
    if (imp_.reorder > 0 && u(rng_) < imp_.reorder) p.t_us += 30000;  // held behind the next packets
    if (imp_.duplicate > 0 && u(rng_) < imp_.duplicate) {
      TimedPacket copy = p;
      copy.t_us += 1000;
      out.push_back(std::move(copy));
    }
    out.push_back(std::move(p));
  }
  in.clear();
}

}  // namespace sipmix::replay
