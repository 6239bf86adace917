// Shared by the depacketizer fuzz targets: feeds the input to a
// FrameAssembler as a sequence of packets, each [control][length, 2 bytes
// BE][payload]: control bit 0 = marker, bit 1 = next timestamp, bits 2-3 =
// extra sequence step (a gap), bit 4 = signal on_loss(1). A short last chunk
// takes what is left.
#pragma once

#include <cstddef>
#include <cstdint>

#include "rtp_payload/frame_assembler.h"
#include "video_codec/video_decoder.h"

namespace sipmix::fuzz {

inline void drive_assembler(video::VideoCodec codec, const uint8_t* data, size_t size) {
  video::FrameAssembler assembler(codec, 64 * 1024);
  uint16_t seq = 0xFFF0;  // crosses the wrap
  uint32_t ts = 0;
  size_t pos = 0;
  while (pos + 3 <= size) {
    const uint8_t control = data[pos];
    size_t len = static_cast<size_t>(data[pos + 1]) << 8 | data[pos + 2];
    pos += 3;
    if (len > size - pos) len = size - pos;
    if (control & 0x02) ts += 3000;
    seq = static_cast<uint16_t>(seq + 1 + ((control >> 2) & 3));
    if (control & 0x10) assembler.on_loss(1);
    if (const video::AssembledFrame* f = assembler.push(seq, ts, control & 0x01, {data + pos, len})) {
      // The frame must lie inside the assembler's buffer: touch every byte.
      volatile uint8_t sink = 0;
      for (uint8_t b : f->data) sink = sink ^ b;
      (void)video::is_keyframe(codec, f->data);
    }
    (void)assembler.take_keyframe_request();
    pos += len;
  }
}

}  // namespace sipmix::fuzz
