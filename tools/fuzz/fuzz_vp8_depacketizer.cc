// libFuzzer target: the RFC 7741 VP8 depacketizer and frame assembler (input
// format in assembler_driver.h), and the descriptor/frame-header parsers on
// the raw bytes.
#include "tools/fuzz/assembler_driver.h"
#include "rtp_payload/vp8_payload.h"

using namespace sipmix::video;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sipmix::fuzz::drive_assembler(VideoCodec::kVp8, data, size);
  if (const auto d = vp8::parse_descriptor({data, size})) {
    (void)vp8::parse_frame_header({data + d->descriptor_size, size - d->descriptor_size});
  }
  return 0;
}
