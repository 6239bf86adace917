// libFuzzer target: the RFC 6184 H.264 depacketizer (single NAL, STAP-A,
// FU-A) and frame assembler (input format in assembler_driver.h), and the
// Annex-B scanners and the SPS size parser on the raw bytes.
#include "tools/fuzz/assembler_driver.h"
#include "rtp_payload/h264_depacketizer.h"
#include "rtp_payload/h264_sps.h"

using namespace sipmix::video;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sipmix::fuzz::drive_assembler(VideoCodec::kH264, data, size);
  (void)h264::is_access_unit_start({data, size});
  (void)h264::annexb_has_idr({data, size});
  (void)h264::parse_sps_size({data, size});
  return 0;
}
