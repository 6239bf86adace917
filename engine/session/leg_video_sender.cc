#include "session/leg_video_sender.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <type_traits>
#include <variant>

namespace sipmix::session {
namespace {

// Last time the participant behind `participant` was an active speaker.
std::optional<int64_t> participant_active_ms(const std::vector<std::unique_ptr<Stream>>& streams,
                                             const std::string& participant) {
  std::optional<int64_t> best;
  for (const auto& sp : streams)
    if (sp && sp->audio && sp->config.participant == participant && sp->last_active_ms >= 0)
      best = std::max(best.value_or(-1), sp->last_active_ms);
  return best;
}

// Marks the macroblocks of the encoder's grid that the rects touch.
void mark_macroblocks(std::span<const video::Rect> rects, int mb_cols, int mb_rows, uint8_t* map) {
  std::memset(map, 0, static_cast<size_t>(mb_cols) * static_cast<size_t>(mb_rows));
  for (const video::Rect& r : rects) {
    if (r.empty()) continue;
    const int c0 = std::max(0, r.x / 16), c1 = std::min(mb_cols, (r.right() + 15) / 16);
    const int r0 = std::max(0, r.y / 16), r1 = std::min(mb_rows, (r.bottom() + 15) / 16);
    for (int row = r0; row < r1; ++row)
      std::memset(map + static_cast<ptrdiff_t>(row) * mb_cols + c0, 1, static_cast<size_t>(std::max(0, c1 - c0)));
  }
}

}  // namespace

void LegVideoSender::update_layout(Leg& leg, const std::vector<std::unique_ptr<Stream>>& streams) {
  // Candidates: every video stream except the leg's own.
  std::array<video::StreamCandidate, 64> cand;
  size_t n = 0;
  for (const auto& sp : streams) {
    if (!sp || !sp->video || sp->config.participant == leg.config.participant || n == cand.size()) continue;
    cand[n].stream_id = static_cast<uint64_t>(sp->slot);
    cand[n].join_order = sp->join_order;
    cand[n].last_active_ms = participant_active_ms(streams, sp->config.participant);
    ++n;
  }
  // The layout depends only on who is there, their join order and who spoke
  // last; re-run it (it allocates) only when one of those changed.
  uint64_t sig = 1469598103934665603ull ^ n;
  int64_t newest = -1;
  uint64_t speaker = ~uint64_t{0};
  for (size_t i = 0; i < n; ++i) {
    sig = (sig ^ (cand[i].stream_id * 0x9E3779B97F4A7C15ull + cand[i].join_order)) * 1099511628211ull;
    if (cand[i].last_active_ms && *cand[i].last_active_ms > newest) {
      newest = *cand[i].last_active_ms;
      speaker = cand[i].stream_id;
    }
  }
  sig ^= speaker * 0xC2B2AE3D27D4EB4Full;
  if (!leg.layout_valid || sig != leg.layout_signature || n > static_cast<size_t>(video::kMaxTiles)) {
    (void)leg.layout->update({cand.data(), n}, std::nullopt);
    leg.layout_signature = sig;
    leg.layout_valid = true;
  }
}

void LegVideoSender::send_frame(Leg& leg, const std::vector<std::unique_ptr<Stream>>& streams, int64_t t_us) {
  int64_t t0 = timer_->mark();
  update_layout(leg, streams);
  std::array<video::TileInput, video::kMaxTiles> tiles;
  size_t count = 0;
  for (const video::LayoutSlot& slot : leg.layout->slots()) {
    const Stream& s = *streams[slot.stream_id];
    video::TileInput& t = tiles[count++];
    t.stream_id = slot.stream_id;
    t.cell = slot.cell;
    t.frame = s.video->frame();
    t.generation = s.picture_generation();
    t.no_video = s.video->last_frame_us() < 0 ? false
                                               : t_us - s.video->last_frame_us() > int64_t{no_video_timeout_ms_} * 1000;
    t.highlight = slot.highlight;
  }
  (void)leg.compositor->compose({tiles.data(), count});
  t0 = timer_->add(Stage::kCompose, t0);
  if (sink_->wants_composed_frame(leg.config.id, t_us)) {
    const video::I420View c = leg.compositor->canvas();
    sink_->on_composed_frame(leg.config.id, t_us, {c.y, c.u, c.v, c.stride_y, c.stride_u, c.stride_v, c.width, c.height});
    t0 = timer_->add(Stage::kSink, t0);
  }
  video::EncodedFrame ef;
  video::VideoEncoder& enc = *leg.video_encoder;
  mark_macroblocks(leg.compositor->changed_rects(), enc.mb_cols(), enc.mb_rows(), leg.changed_mbs.data());
  const bool encoded = enc.encode(leg.compositor->canvas(), t_us, &ef, leg.changed_mbs.data());
  t0 = timer_->add(Stage::kVideoEncode, t0);
  if (!encoded || ef.data.empty()) return;
  ++leg.stats.video_frames_encoded;
  if (ef.keyframe) ++leg.stats.video_keyframes;
  const uint32_t ts = static_cast<uint32_t>(t_us * 9 / 100);
  leg.video_packets->clear();
  const bool ok = std::visit(
      [&](auto& p) {
        if constexpr (std::is_same_v<std::decay_t<decltype(p)>, std::monostate>) return false;
        else return p.packetize(ef.data, ts, *leg.video_packets);
      },
      leg.packetizer);
  timer_->add(Stage::kSend, t0);
  if (!ok) return;
  for (size_t i = 0; i < leg.video_packets->size(); ++i) {
    const auto pkt = (*leg.video_packets)[i];
    if (!leg.srtp) {  // clear legs take the packet where the packetizer wrote it
      out_->emit_rtp(leg.config.id, Direction::kToLeg, pkt);
      continue;
    }
    std::memcpy(leg.send_buffer.data(), pkt.data(), pkt.size());
    out_->send_to_leg(leg, pkt.size());
  }
}

}  // namespace sipmix::session
