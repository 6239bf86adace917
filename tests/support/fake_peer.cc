#include "tests/support/fake_peer.h"

#include "audio_codec/codec.h"
#include "base/i420.h"
#include "rtp/byte_io.h"
#include "rtp/rtp_packet.h"
#include "rtp_payload/h264_packetizer.h"
#include "rtp_payload/rtp_packet_list.h"
#include "rtp_payload/vp8_packetizer.h"
#include "session/codec_map.h"
#include "video_codec/video_encoder.h"

namespace sipmix::testing {

struct FakePeer::Impl {
  std::unique_ptr<audio::AudioEncoder> audio;
  std::vector<uint8_t> payload;  // audio encode output

  std::unique_ptr<video::VideoEncoder> video;
  video::I420Buffer picture;
  std::optional<video::vp8::Packetizer> vp8;
  std::optional<video::h264::Packetizer> h264;
  std::optional<video::RtpPacketList> list;
  std::vector<std::span<const uint8_t>> packets;  // views into `list`
};

namespace {

audio::EncoderConfig audio_encoder_config(const FakePeerConfig& c) {
  audio::EncoderConfig ec;
  ec.codec = session::to_engine(c.audio_codec);
  ec.bitrate_bps = c.audio_bitrate_bps;
  ec.max_audio_bandwidth_hz = c.audio_max_bandwidth_hz;
  return ec;
}

video::VideoEncoderConfig video_encoder_config(const FakePeerConfig& c) {
  video::VideoEncoderConfig vc;
  vc.codec = session::to_engine(c.video_codec);
  vc.width = c.width;
  vc.height = c.height;
  vc.fps = c.fps;
  vc.bitrate_bps = c.video_bitrate_bps;
  vc.keyframe_interval_s = c.keyframe_interval_s;
  vc.h264_preset = c.h264_preset;
  return vc;
}

}  // namespace

FakePeer::FakePeer(const FakePeerConfig& config) : config_(config), impl_(std::make_unique<Impl>()) {}
FakePeer::~FakePeer() = default;

StatusOr<std::unique_ptr<FakePeer>> FakePeer::create(const FakePeerConfig& c) {
  if (c.payload_type > 127) return invalid_argument("fake peer: payload_type must be 0..127");
  if (c.clock_rate_hz < 0) return invalid_argument("fake peer: clock_rate_hz must be >= 0");
  const bool video = c.kind == MediaKind::kVideo;
  if (video && c.video_codec == VideoCodec::kNone) return invalid_argument("fake peer: video_codec must be VP8 or H.264");
  if (video && c.max_packets_per_frame == 0) return invalid_argument("fake peer: max_packets_per_frame must be > 0");

  std::unique_ptr<FakePeer> p(new FakePeer(c));
  Impl& m = *p->impl_;
  int clock_hz = c.clock_rate_hz;
  if (!video) {
    const audio::CodecInfo& info = audio::codec_info(session::to_engine(c.audio_codec));
    if (clock_hz == 0) clock_hz = info.rtp_clock_hz;
    if (c.encode) {
      auto enc = audio::make_audio_encoder(audio_encoder_config(c));
      if (!enc.ok()) return enc.status();
      m.audio = std::move(*enc);
      m.payload.resize(m.audio->max_payload_bytes());
    }
  } else {
    if (clock_hz == 0) clock_hz = 90000;
    if (c.encode) {
      auto enc = video::VideoEncoder::create(video_encoder_config(c));
      if (!enc.ok()) return enc.status();
      m.video = std::move(*enc);
      m.picture.reset(c.width, c.height);
    }
    video::PacketizerConfig pc;
    pc.payload_type = c.payload_type;
    pc.ssrc = c.ssrc;
    pc.first_sequence_number = c.first_sequence_number;
    if (c.video_codec == VideoCodec::kVp8) {
      auto v = video::vp8::Packetizer::create(pc);
      if (!v.ok()) return v.status();
      m.vp8.emplace(*v);
    } else {
      auto h = video::h264::Packetizer::create(pc);
      if (!h.ok()) return h.status();
      m.h264.emplace(*h);
    }
    m.list.emplace(c.max_packets_per_frame);
    m.packets.reserve(c.max_packets_per_frame);
  }
  p->frame_ticks_ = video ? 0 : static_cast<uint32_t>(clock_hz / 50);
  p->header_ = {c.payload_type, c.first_sequence_number, c.first_timestamp, c.ssrc};
  return p;
}

int FakePeer::sample_rate_hz() const {
  return audio::codec_info(session::to_engine(config_.audio_codec)).sample_rate_hz;
}

size_t FakePeer::frame_samples() const {
  return static_cast<size_t>(audio::codec_info(session::to_engine(config_.audio_codec)).samples_per_20ms);
}

std::vector<uint8_t> FakePeer::encode_audio(std::span<const int16_t> pcm) {
  if (!impl_->audio) return {};
  const size_t n = impl_->audio->encode(pcm, impl_->payload);
  return {impl_->payload.begin(), impl_->payload.begin() + static_cast<std::ptrdiff_t>(n)};
}

std::vector<uint8_t> FakePeer::audio_packet(std::span<const int16_t> pcm, const PacketOptions& options) {
  if (!impl_->audio) return {};
  const size_t n = impl_->audio->encode(pcm, impl_->payload);
  return packet({impl_->payload.data(), n}, options);
}

size_t FakePeer::write_packet(std::span<const uint8_t> payload, std::span<uint8_t> out, const PacketOptions& o) {
  rtp::RtpHeader h;
  h.marker = o.marker;
  h.payload_type = o.payload_type.value_or(header_.payload_type);
  h.sequence_number = header_.sequence_number;
  h.timestamp = header_.timestamp;
  h.ssrc = o.ssrc.value_or(header_.ssrc);
  const uint8_t level[1] = {static_cast<uint8_t>((o.voice_activity ? 0x80 : 0) | (o.audio_level_dbov & 0x7F))};
  const rtp::HeaderExtensionElement ext[1] = {{o.audio_level_ext_id, level}};
  const size_t n = rtp::write_rtp(h, o.audio_level_ext_id ? std::span<const rtp::HeaderExtensionElement>(ext)
                                                          : std::span<const rtp::HeaderExtensionElement>(),
                                  payload, out);
  if (n == 0) return 0;
  ++header_.sequence_number;
  if (!o.keep_timestamp) header_.timestamp += frame_ticks_;
  return n;
}

std::vector<uint8_t> FakePeer::packet(std::span<const uint8_t> payload, const PacketOptions& options) {
  // Header, a one-byte extension block with the level (4 + 4), the payload.
  std::vector<uint8_t> out(rtp::kRtpHeaderSize + 8 + payload.size());
  out.resize(write_packet(payload, out, options));
  return out;
}

PeerPicture FakePeer::picture() {
  const video::I420MutableView v = impl_->picture.mutable_view();
  return {v.y, v.u, v.v, v.stride_y, v.stride_u, v.stride_v, v.width, v.height};
}

void FakePeer::fill_picture(uint8_t y, uint8_t u, uint8_t v) { impl_->picture.fill(y, u, v); }

std::vector<uint8_t> FakePeer::encode_video(int64_t t_us, bool* keyframe) {
  if (!impl_->video) return {};
  video::EncodedFrame ef;
  if (!impl_->video->encode(impl_->picture.view(), t_us, &ef)) return {};
  if (keyframe) *keyframe = ef.keyframe;
  return {ef.data.begin(), ef.data.end()};
}

std::span<const std::span<const uint8_t>> FakePeer::video_packets(int64_t t_us) {
  impl_->packets.clear();
  if (!impl_->video) return {};
  video::EncodedFrame ef;
  if (!impl_->video->encode(impl_->picture.view(), t_us, &ef) || ef.data.empty()) return {};
  return packetize_video(ef.data, static_cast<uint32_t>(t_us * 9 / 100));
}

std::span<const std::span<const uint8_t>> FakePeer::packetize_video(std::span<const uint8_t> frame,
                                                                     uint32_t rtp_timestamp) {
  Impl& m = *impl_;
  m.packets.clear();
  if (!m.list) return {};
  m.list->clear();
  const bool ok = m.vp8 ? m.vp8->packetize(frame, rtp_timestamp, *m.list) : m.h264->packetize(frame, rtp_timestamp, *m.list);
  if (!ok) return {};
  // The packetizer stamped its own fields; header() is what the peer sends.
  header_.timestamp = rtp_timestamp;
  for (size_t i = 0; i < m.list->size(); ++i) {
    uint8_t* p = m.list->mutable_packet(i);
    p[1] = static_cast<uint8_t>((p[1] & 0x80) | (header_.payload_type & 0x7F));
    rtp::write_u16(p + 2, header_.sequence_number++);
    rtp::write_u32(p + 8, header_.ssrc);
    m.packets.push_back((*m.list)[i]);
  }
  return m.packets;
}

void FakePeer::request_keyframe() {
  if (impl_->video) impl_->video->request_keyframe();
}

Status FakePeer::reconfigure_video(int width, int height, int bitrate_bps) {
  if (config_.kind != MediaKind::kVideo || !config_.encode) return invalid_argument("fake peer: not a video encoder");
  FakePeerConfig c = config_;
  c.width = width;
  c.height = height;
  c.video_bitrate_bps = bitrate_bps;
  auto enc = video::VideoEncoder::create(video_encoder_config(c));
  if (!enc.ok()) return enc.status();
  impl_->video = std::move(*enc);
  impl_->picture.reset(width, height);
  config_ = c;
  return {};
}

}  // namespace sipmix::testing
