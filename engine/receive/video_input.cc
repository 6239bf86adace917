#include "receive/video_input.h"

namespace sipmix::session {

StatusOr<std::unique_ptr<VideoInput>> VideoInput::create(video::VideoCodec codec, uint8_t payload_type,
                                                         int max_delay_ms) {
  JitterBufferConfig jc;
  jc.capacity_packets = 2048;
  jc.clock_rate_hz = 90000;
  jc.frame_duration_ms = 33;
  jc.min_delay_ms = 0;
  jc.max_delay_ms = max_delay_ms;
  auto jitter = JitterBuffer::create(jc);
  if (!jitter.ok()) return jitter.status();
  auto decoder = video::VideoDecoder::create(codec);
  if (!decoder.ok()) return decoder.status();
  return std::unique_ptr<VideoInput>(new VideoInput(payload_type, std::move(*jitter), std::move(*decoder), codec));
}

VideoInput::VideoInput(uint8_t payload_type, std::unique_ptr<JitterBuffer> jitter,
                       std::unique_ptr<video::VideoDecoder> decoder, video::VideoCodec codec)
    : payload_type_(payload_type), jitter_(std::move(jitter)), decoder_(std::move(decoder)), assembler_(codec) {}

bool VideoInput::process(int64_t now_us, StageTimer* timer, bool decode) {
  bool resumed = false;
  if (decode != decoding_) {
    decoding_ = decode;
    resume_pending_ = false;
    if (decode && skipped_since_decoding_) {
      decoder_->wait_for_keyframe();
      resume_pending_ = true;
      resume_us_ = now_us;
      resumed = true;
      ++resumes_;
    }
    skipped_since_decoding_ = false;
  }
  for (;;) {
    const Playout p = jitter_->pop_due(now_us);
    if (p.kind == PlayoutKind::kNotYet) break;
    // Anything that goes by undecoded (a frame, a loss) leaves the decoder's
    // references stale: it needs a keyframe once the stream is shown again.
    if (!decoding_) skipped_since_decoding_ = true;
    if (p.lost_before > 0) assembler_.on_loss(static_cast<int>(p.lost_before));
    if (p.kind != PlayoutKind::kPacket) continue;
    if (p.packet.payload_type != payload_type_) continue;
    last_packet_us_ = now_us;
    ssrc_ = p.packet.ssrc;
    const video::AssembledFrame* f =
        assembler_.push(p.packet.sequence_number, p.packet.rtp_timestamp, p.packet.marker, p.packet.payload);
    if (!f) continue;
    if (f->keyframe) requester_.on_keyframe();
    if (f->keyframe && f->width > 0 && f->height > 0) picture_width_ = f->width, picture_height_ = f->height;
    if (!decoding_) {
      ++frames_not_decoded_;
      continue;
    }
    const int64_t t0 = timer ? timer->mark() : 0;
    const video::VideoDecoder::Result r = decoder_->decode(f->data);
    if (timer && timer->enabled()) timer->move(Stage::kVideoIn, Stage::kVideoDecode, StageTimer::now_ns() - t0);
    if (r == video::VideoDecoder::Result::kFrame) {
      // Same pixels as before: the compositor need not redraw the tile.
      if (!decoder_->unchanged()) ++generation_;
      last_frame_us_ = now_us;
      picture_width_ = decoder_->frame().width;
      picture_height_ = decoder_->frame().height;
      if (resume_pending_) {
        resume_pending_ = false;
        last_resume_latency_us_ = now_us - resume_us_;
      }
    }
  }
  // A hidden stream asks for nothing: its losses are repaired by the
  // keyframe it gets when it is shown again.
  if (assembler_.take_broken_keyframe()) requester_.on_broken_keyframe();
  bool need = assembler_.take_keyframe_request();
  need = decoder_->take_keyframe_request() || need;
  if (!decoding_) return false;
  need = need || resumed;
  return need ? requester_.need_keyframe(now_us) : requester_.poll(now_us);
}

}  // namespace sipmix::session
