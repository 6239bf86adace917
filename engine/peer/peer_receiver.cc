#include "audio_codec/codec.h"
#include "rtp/rtp_packet.h"
#include "rtp_payload/frame_assembler.h"
#include "session/codec_map.h"
#include "sipmix/peer.h"
#include "video_codec/video_decoder.h"

namespace sipmix {

static_assert(PeerReceiver::kMaxDecodedSamples == audio::kMaxDecodedSamples);

std::optional<RtpPacketInfo> parse_rtp_packet(std::span<const uint8_t> packet) {
  const auto v = rtp::parse_rtp(packet);
  if (!v) return std::nullopt;
  return RtpPacketInfo{v->payload_type, v->marker, v->sequence_number, v->timestamp, v->ssrc, v->payload};
}

struct PeerReceiver::Impl {
  std::unique_ptr<audio::AudioDecoder> audio;
  std::optional<video::FrameAssembler> assembler;
  std::unique_ptr<video::VideoDecoder> video;
};

PeerReceiver::PeerReceiver(const PeerReceiverConfig& config) : config_(config), impl_(std::make_unique<Impl>()) {}
PeerReceiver::~PeerReceiver() = default;

StatusOr<std::unique_ptr<PeerReceiver>> PeerReceiver::create(const PeerReceiverConfig& c) {
  const bool video = c.kind == MediaKind::kVideo;
  if (video && c.video_codec == VideoCodec::kNone)
    return invalid_argument("peer receiver: video_codec must be VP8 or H.264");
  if (video && c.max_frame_bytes == 0) return invalid_argument("peer receiver: max_frame_bytes must be > 0");
  std::unique_ptr<PeerReceiver> r(new PeerReceiver(c));
  Impl& m = *r->impl_;
  if (!video) {
    auto d = audio::make_audio_decoder(session::to_engine(c.audio_codec));
    if (!d.ok()) return Status(d.status().code(), "peer receiver: " + d.status().message());
    m.audio = std::move(*d);
  } else {
    m.assembler.emplace(session::to_engine(c.video_codec), c.max_frame_bytes);
    if (c.decode_video) {
      auto d = video::VideoDecoder::create(session::to_engine(c.video_codec));
      if (!d.ok()) return Status(d.status().code(), "peer receiver: " + d.status().message());
      m.video = std::move(*d);
    }
  }
  return r;
}

int PeerReceiver::sample_rate_hz() const {
  return audio::codec_info(session::to_engine(config_.audio_codec)).sample_rate_hz;
}

size_t PeerReceiver::frame_samples() const {
  return static_cast<size_t>(audio::codec_info(session::to_engine(config_.audio_codec)).samples_per_20ms);
}

size_t PeerReceiver::decode_audio(std::span<const uint8_t> payload, std::span<int16_t> pcm) {
  if (!impl_->audio) return 0;
  return impl_->audio->decode(payload, pcm);
}

const ReceivedFrame* PeerReceiver::push_video(std::span<const uint8_t> packet) {
  if (!impl_->assembler) return nullptr;
  const auto v = rtp::parse_rtp(packet);
  if (!v) return nullptr;
  const video::AssembledFrame* f = impl_->assembler->push(*v);
  if (!f) return nullptr;
  frame_ = {f->data, f->rtp_timestamp, f->keyframe};
  return &frame_;
}

bool PeerReceiver::decode_video(std::span<const uint8_t> frame, PictureView* picture) {
  if (!impl_->video || impl_->video->decode(frame) != video::VideoDecoder::Result::kFrame) return false;
  const video::I420View v = impl_->video->frame();
  *picture = {v.y, v.u, v.v, v.stride_y, v.stride_u, v.stride_v, v.width, v.height};
  return true;
}

}  // namespace sipmix
