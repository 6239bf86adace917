#include <string>

#include "audio_codec/codec.h"
#include "audio_dsp/resampler.h"
#include "base/i420.h"
#include "dtmf/rfc4733_sender.h"
#include "rtp/byte_io.h"
#include "rtp/rtp_packet.h"
#include "rtp_payload/h264_packetizer.h"
#include "rtp_payload/rtp_packet_list.h"
#include "rtp_payload/vp8_packetizer.h"
#include "session/codec_map.h"
#include "sipmix/peer.h"
#include "video_codec/video_encoder.h"

namespace sipmix {

struct PeerSender::Impl {
  std::unique_ptr<audio::AudioEncoder> audio;
  std::optional<audio::Resampler> resampler;  // input_sample_rate_hz set
  std::vector<int16_t> resampled;
  std::vector<uint8_t> payload;  // audio encode output
  std::optional<dtmf::Rfc4733Sender> events;

  std::unique_ptr<video::VideoEncoder> video;
  video::I420Buffer picture;
  std::optional<video::vp8::Packetizer> vp8;
  std::optional<video::h264::Packetizer> h264;
  std::optional<video::RtpPacketList> list;
  std::vector<std::span<const uint8_t>> packets;  // views into `list`
};

namespace {

audio::EncoderConfig audio_encoder_config(const PeerSenderConfig& c) {
  audio::EncoderConfig ec;
  ec.codec = session::to_engine(c.audio_codec);
  ec.bitrate_bps = c.audio_bitrate_bps;
  ec.max_audio_bandwidth_hz = c.audio_max_bandwidth_hz;
  return ec;
}

video::VideoEncoderConfig video_encoder_config(const PeerSenderConfig& c) {
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

video::I420View engine_view(const PictureView& p) {
  return {p.y, p.u, p.v, p.stride_y, p.stride_u, p.stride_v, p.width, p.height};
}

MutablePictureView public_view(const video::I420MutableView& v) {
  return {v.y, v.u, v.v, v.stride_y, v.stride_u, v.stride_v, v.width, v.height};
}

Status prefixed(const Status& s) {
  return Status(s.code(), "peer sender: " + s.message());
}

}  // namespace

PeerSender::PeerSender(const PeerSenderConfig& config) : config_(config), impl_(std::make_unique<Impl>()) {}
PeerSender::~PeerSender() = default;

StatusOr<std::unique_ptr<PeerSender>> PeerSender::create(const PeerSenderConfig& c) {
  if (c.payload_type > 127) return invalid_argument("peer sender: payload_type must be 0..127");
  if (c.clock_rate_hz < 0) return invalid_argument("peer sender: clock_rate_hz must be >= 0");
  const bool video = c.kind == MediaKind::kVideo;
  if (video && c.video_codec == VideoCodec::kNone) return invalid_argument("peer sender: video_codec must be VP8 or H.264");
  if (video && c.max_packets_per_frame == 0) return invalid_argument("peer sender: max_packets_per_frame must be > 0");
  if (c.telephone_event_payload_type > 127)
    return invalid_argument("peer sender: telephone_event_payload_type must be 0..127, or -1 for none");
  if (video && c.telephone_event_payload_type >= 0)
    return invalid_argument("peer sender: telephone_event_payload_type is for audio senders");

  std::unique_ptr<PeerSender> p(new PeerSender(c));
  Impl& m = *p->impl_;
  int clock_hz = c.clock_rate_hz;
  if (!video) {
    const audio::CodecInfo& info = audio::codec_info(session::to_engine(c.audio_codec));
    if (clock_hz == 0) clock_hz = info.rtp_clock_hz;
    if (c.encode) {
      auto enc = audio::make_audio_encoder(audio_encoder_config(c));
      if (!enc.ok()) return prefixed(enc.status());
      m.audio = std::move(*enc);
      m.payload.resize(m.audio->max_payload_bytes());
      if (c.input_sample_rate_hz != 0) {
        auto rs = audio::Resampler::create(c.input_sample_rate_hz, info.sample_rate_hz);
        if (!rs.ok()) return invalid_argument("peer sender: input_sample_rate_hz: " + rs.status().message());
        m.resampler.emplace(std::move(*rs));
        m.resampled.resize(m.resampler->max_output_samples());
      }
    }
    if (c.telephone_event_payload_type >= 0) {
      dtmf::Rfc4733SenderConfig ec;
      ec.payload_type = static_cast<uint8_t>(c.telephone_event_payload_type);
      ec.clock_rate_hz = static_cast<uint32_t>(clock_hz);
      ec.ssrc = c.ssrc;
      auto tx = dtmf::Rfc4733Sender::create(ec);
      if (!tx.ok()) return prefixed(tx.status());
      m.events.emplace(std::move(*tx));
    }
  } else {
    if (clock_hz == 0) clock_hz = 90000;
    if (c.encode) {
      auto enc = video::VideoEncoder::create(video_encoder_config(c));
      if (!enc.ok()) return prefixed(enc.status());
      m.video = std::move(*enc);
      m.picture.reset(c.width, c.height);
    }
    video::PacketizerConfig pc;
    pc.payload_type = c.payload_type;
    pc.ssrc = c.ssrc;
    pc.first_sequence_number = c.first_sequence_number;
    if (c.video_codec == VideoCodec::kVp8) {
      auto v = video::vp8::Packetizer::create(pc);
      if (!v.ok()) return prefixed(v.status());
      m.vp8.emplace(*v);
    } else {
      auto h = video::h264::Packetizer::create(pc);
      if (!h.ok()) return prefixed(h.status());
      m.h264.emplace(*h);
    }
    m.list.emplace(c.max_packets_per_frame);
    m.packets.reserve(c.max_packets_per_frame);
  }
  p->frame_ticks_ = video ? 0 : static_cast<uint32_t>(clock_hz / 50);
  p->header_ = {c.payload_type, c.first_sequence_number, c.first_timestamp, c.ssrc};
  return p;
}

int PeerSender::sample_rate_hz() const {
  return audio::codec_info(session::to_engine(config_.audio_codec)).sample_rate_hz;
}

size_t PeerSender::frame_samples() const {
  return static_cast<size_t>(audio::codec_info(session::to_engine(config_.audio_codec)).samples_per_20ms);
}

size_t PeerSender::input_frame_samples() const {
  if (config_.input_sample_rate_hz == 0) return frame_samples();
  return static_cast<size_t>(config_.input_sample_rate_hz / 50);
}

size_t PeerSender::encode_audio_frame(std::span<const int16_t> pcm) {
  Impl& m = *impl_;
  if (!m.audio) return 0;
  if (m.resampler) {
    const size_t n = m.resampler->process(pcm, m.resampled);
    if (n != m.audio->frame_samples()) return 0;
    pcm = {m.resampled.data(), n};
  }
  return m.audio->encode(pcm, m.payload);
}

std::vector<uint8_t> PeerSender::encode_audio(std::span<const int16_t> pcm) {
  const size_t n = encode_audio_frame(pcm);
  return {impl_->payload.begin(), impl_->payload.begin() + static_cast<std::ptrdiff_t>(n)};
}

std::vector<uint8_t> PeerSender::audio_packet(std::span<const int16_t> pcm, const PacketOptions& options) {
  const size_t n = encode_audio_frame(pcm);
  if (n == 0) return {};
  return packet({impl_->payload.data(), n}, options);
}

Status PeerSender::play_dtmf(std::string_view digits) {
  if (!impl_->events) return invalid_argument("peer sender: telephone_event_payload_type is not set");
  return impl_->events->play(digits);
}

bool PeerSender::dtmf_idle() const { return !impl_->events || impl_->events->idle(); }

std::vector<uint8_t> PeerSender::dtmf_packet() {
  if (!impl_->events) return {};
  std::vector<uint8_t> out(dtmf::Rfc4733Sender::kPacketSize);
  const size_t n = impl_->events->on_audio_tick(header_.timestamp, header_.sequence_number, out);
  if (n == 0) return {};
  header_.timestamp += frame_ticks_;
  out.resize(n);
  return out;
}

size_t PeerSender::write_packet(std::span<const uint8_t> payload, std::span<uint8_t> out, const PacketOptions& o) {
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

std::vector<uint8_t> PeerSender::packet(std::span<const uint8_t> payload, const PacketOptions& options) {
  // Header, a one-byte extension block with the level (4 + 4), the payload.
  std::vector<uint8_t> out(rtp::kRtpHeaderSize + 8 + payload.size());
  out.resize(write_packet(payload, out, options));
  return out;
}

MutablePictureView PeerSender::picture() { return public_view(impl_->picture.mutable_view()); }

void PeerSender::fill_picture(uint8_t y, uint8_t u, uint8_t v) { impl_->picture.fill(y, u, v); }

std::vector<uint8_t> PeerSender::encode_video(int64_t t_us, bool* keyframe) {
  return encode_video(picture(), t_us, keyframe);
}

std::vector<uint8_t> PeerSender::encode_video(const PictureView& picture, int64_t t_us, bool* keyframe) {
  if (!impl_->video) return {};
  video::EncodedFrame ef;
  if (!impl_->video->encode(engine_view(picture), t_us, &ef)) return {};
  if (keyframe) *keyframe = ef.keyframe;
  return {ef.data.begin(), ef.data.end()};
}

std::span<const std::span<const uint8_t>> PeerSender::video_packets(int64_t t_us) {
  return video_packets(picture(), t_us);
}

std::span<const std::span<const uint8_t>> PeerSender::video_packets(const PictureView& picture, int64_t t_us) {
  impl_->packets.clear();
  if (!impl_->video) return {};
  video::EncodedFrame ef;
  if (!impl_->video->encode(engine_view(picture), t_us, &ef) || ef.data.empty()) return {};
  return packetize_video(ef.data, static_cast<uint32_t>(t_us * 9 / 100));
}

std::span<const std::span<const uint8_t>> PeerSender::packetize_video(std::span<const uint8_t> frame,
                                                                       uint32_t rtp_timestamp) {
  Impl& m = *impl_;
  m.packets.clear();
  if (!m.list) return {};
  m.list->clear();
  const bool ok = m.vp8 ? m.vp8->packetize(frame, rtp_timestamp, *m.list) : m.h264->packetize(frame, rtp_timestamp, *m.list);
  if (!ok) return {};
  // The packetizer stamped its own fields; header() is what the sender sends.
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

void PeerSender::request_keyframe() {
  if (impl_->video) impl_->video->request_keyframe();
}

Status PeerSender::reconfigure_video(int width, int height, int bitrate_bps) {
  if (config_.kind != MediaKind::kVideo || !config_.encode) return invalid_argument("peer sender: not a video encoder");
  PeerSenderConfig c = config_;
  c.width = width;
  c.height = height;
  c.video_bitrate_bps = bitrate_bps;
  auto enc = video::VideoEncoder::create(video_encoder_config(c));
  if (!enc.ok()) return prefixed(enc.status());
  impl_->video = std::move(*enc);
  impl_->picture.reset(width, height);
  config_ = c;
  return {};
}

}  // namespace sipmix
