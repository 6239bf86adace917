#include "rtp_payload/frame_assembler.h"

#include <cstring>

#include "base/seq_num.h"
#include "rtp_payload/vp8_payload.h"

namespace sipmix::video {
namespace {
constexpr size_t kPadding = 64;  // zeroed bytes past a frame, as libavcodec's parsers like
}

FrameAssembler::FrameAssembler(VideoCodec codec, size_t max_frame_bytes)
    : codec_(codec), capacity_(max_frame_bytes), buffer_(max_frame_bytes + kPadding) {}

void FrameAssembler::reset() {
  if (active_) drop_current();
  has_last_seq_ = false;
  waiting_keyframe_ = true;
  h264_parameter_sets_seen_ = false;
  h264_sps_width_ = h264_sps_height_ = 0;
  raise_request();
}

void FrameAssembler::raise_request() {
  request_ = true;
  ++stats_.keyframe_requests;
}

void FrameAssembler::note_if_broken_keyframe() {
  // A VP8 keyframe is known from its first packet's frame header; an H.264
  // one from an IDR slice among the NAL units that did arrive.
  const bool key = codec_ == VideoCodec::kH264 ? h264_.info().has_idr : frame_.keyframe;
  if (!key) return;
  broken_keyframe_ = true;
  ++stats_.keyframes_broken;
}

void FrameAssembler::drop_current() {
  note_if_broken_keyframe();
  active_ = false;
  ++stats_.frames_incomplete;
}

void FrameAssembler::note_loss() {
  // The frame being collected is lost; it is counted once, when its marker
  // or the next timestamp shows up.
  if (active_) corrupt_ = true;
  waiting_keyframe_ = true;
  raise_request();
}

void FrameAssembler::on_loss(int count) {
  if (count <= 0) return;
  stats_.lost_packets += static_cast<uint64_t>(count);
  if (has_last_seq_) last_seq_ = static_cast<uint16_t>(last_seq_ + static_cast<uint16_t>(count));
  note_loss();
}

bool FrameAssembler::start_frame(uint32_t ts, uint16_t seq, std::span<const uint8_t> payload) {
  active_ = true;
  corrupt_ = false;
  size_ = 0;
  frame_ = {};
  frame_.rtp_timestamp = ts;
  frame_.first_sequence_number = seq;
  if (codec_ == VideoCodec::kH264) {
    h264_.begin_frame();
    return h264::is_access_unit_start(payload);
  }
  const auto d = vp8::parse_descriptor(payload);
  if (!d) {
    ++stats_.malformed_packets;
    return false;
  }
  if (!d->frame_start()) return false;
  const auto h = vp8::parse_frame_header(payload.subspan(d->descriptor_size));
  if (!h) return false;
  frame_.keyframe = h->keyframe;
  frame_.width = h->width;
  frame_.height = h->height;
  frame_.picture_id = d->picture_id;
  return true;
}

bool FrameAssembler::append(std::span<const uint8_t> payload) {
  if (codec_ == VideoCodec::kH264) {
    switch (h264_.append(payload, buffer_.data(), capacity_, &size_)) {
      case h264::Depacketizer::Result::kOk:
        return true;
      case h264::Depacketizer::Result::kMalformed:
        ++stats_.malformed_packets;
        return false;
      case h264::Depacketizer::Result::kUnsupported:
        ++stats_.unsupported_packets;
        return false;
      case h264::Depacketizer::Result::kOverflow:
        ++stats_.frames_oversize;
        return false;
    }
    return false;
  }
  const auto d = vp8::parse_descriptor(payload);
  if (!d) {
    ++stats_.malformed_packets;
    return false;
  }
  // A second frame start under one timestamp, or a PictureID change, is not one frame.
  if ((size_ > 0 && d->frame_start()) || d->picture_id != frame_.picture_id) {
    ++stats_.malformed_packets;
    return false;
  }
  const std::span<const uint8_t> data = payload.subspan(d->descriptor_size);
  if (data.size() > capacity_ - size_) {
    ++stats_.frames_oversize;
    return false;
  }
  std::memcpy(buffer_.data() + size_, data.data(), data.size());
  size_ += data.size();
  return true;
}

const AssembledFrame* FrameAssembler::finish(uint16_t seq) {
  active_ = false;
  if (codec_ == VideoCodec::kH264 && !corrupt_) {
    const h264::AccessUnitInfo& info = h264_.info();
    if (h264_.in_fragment()) corrupt_ = true;
    if (!corrupt_ && info.has_sps && info.has_pps) h264_parameter_sets_seen_ = true;
    if (!corrupt_ && info.sps_width > 0) h264_sps_width_ = info.sps_width, h264_sps_height_ = info.sps_height;
    // Parameter sets (or SEI) sent under their own timestamp: nothing to decode, nothing lost.
    if (!corrupt_ && !info.has_slice) return nullptr;
    frame_.keyframe = info.has_idr && h264_parameter_sets_seen_;
    if (frame_.keyframe) frame_.width = h264_sps_width_, frame_.height = h264_sps_height_;
  }
  if (corrupt_) {
    note_if_broken_keyframe();
    ++stats_.frames_incomplete;
    waiting_keyframe_ = true;
    raise_request();
    return nullptr;
  }
  if (waiting_keyframe_ && !frame_.keyframe) {
    ++stats_.frames_waiting_keyframe;
    raise_request();
    return nullptr;
  }
  waiting_keyframe_ = false;
  frame_.last_sequence_number = seq;
  std::memset(buffer_.data() + size_, 0, kPadding);
  frame_.data = {buffer_.data(), size_};
  ++stats_.frames_emitted;
  if (frame_.keyframe) ++stats_.keyframes_emitted;
  return &frame_;
}

const AssembledFrame* FrameAssembler::push(uint16_t seq, uint32_t ts, bool marker,
                                           std::span<const uint8_t> payload) {
  ++stats_.packets;
  if (has_last_seq_) {
    const int64_t d = wrap_diff<uint16_t>(seq, last_seq_);
    if (d <= 0) {
      ++stats_.duplicate_or_old;
      return nullptr;
    }
    if (d > 1) {
      stats_.lost_packets += static_cast<uint64_t>(d - 1);
      note_loss();
    }
  }
  has_last_seq_ = true;
  last_seq_ = seq;

  if (active_ && ts != frame_.rtp_timestamp) {
    // The previous frame ended without its marker.
    drop_current();
    waiting_keyframe_ = true;
    raise_request();
  }
  if (!active_) {
    if (!start_frame(ts, seq, payload)) corrupt_ = true;  // its first packets are missing
  }
  if (!corrupt_ && !append(payload)) corrupt_ = true;
  if (!marker) return nullptr;
  return finish(seq);
}

}  // namespace sipmix::video
