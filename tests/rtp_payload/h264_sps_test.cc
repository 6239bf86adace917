// The SPS picture size against streams ffmpeg's libx264 writes (profiles
// baseline to High 4:4:4, cropping in each chroma format, interlaced coding)
// and against SPSs written here bit by bit for what libx264 never puts in
// an SPS (scaling matrices, picture order count type 1), with emulation
// prevention bytes.
#include "rtp_payload/h264_sps.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "rtp_payload/h264_depacketizer.h"

namespace sipmix::video::h264 {
namespace {

bool have_ffmpeg() { return std::system("ffmpeg -hide_banner -version > /dev/null 2>&1") == 0; }

// One frame of testsrc2 at w x h, as an Annex-B stream from libx264.
std::vector<uint8_t> x264_stream(int w, int h, const std::string& options) {
  const std::string cmd = "ffmpeg -v error -f lavfi -i testsrc2=size=" + std::to_string(w) + "x" + std::to_string(h) +
                          ":rate=25 -frames:v 1 -c:v libx264 " + options + " -f h264 -";
  std::vector<uint8_t> out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  uint8_t buf[65536];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.insert(out.end(), buf, buf + n);
  pclose(p);
  return out;
}

std::span<const uint8_t> first_sps(std::span<const uint8_t> stream) {
  size_t pos = 0;
  for (auto nal = next_annexb_nal(stream, &pos); !nal.empty(); nal = next_annexb_nal(stream, &pos))
    if ((nal[0] & 0x1F) == kNalSps) return nal;
  return {};
}

struct SpsCase {
  const char* name;
  int width, height;
  const char* options;
};

class SpsSizeFromX264 : public ::testing::TestWithParam<SpsCase> {};

TEST_P(SpsSizeFromX264, GivesTheEncodedPictureSize) {
  if (!have_ffmpeg()) GTEST_SKIP() << "ffmpeg not found";
  const SpsCase c = GetParam();
  const std::vector<uint8_t> stream = x264_stream(c.width, c.height, c.options);
  ASSERT_FALSE(stream.empty()) << "ffmpeg wrote nothing";
  const auto sps = first_sps(stream);
  ASSERT_FALSE(sps.empty()) << "no SPS in the stream";
  const auto size = parse_sps_size(sps);
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(size->width, c.width);
  EXPECT_EQ(size->height, c.height);
  // Every truncation of it is refused or gives a size, never reads past it.
  for (size_t n = 0; n < sps.size(); ++n) (void)parse_sps_size(sps.first(n));
}

INSTANTIATE_TEST_SUITE_P(
    Profiles, SpsSizeFromX264,
    ::testing::Values(SpsCase{"baseline_720p", 1280, 720, "-profile:v baseline"},
                      SpsCase{"baseline_360p_cropped", 640, 360, "-profile:v baseline"},
                      SpsCase{"main_180p_cropped", 320, 180, "-profile:v main"},
                      SpsCase{"high_1080p_cropped", 1920, 1080, "-profile:v high"},
                      SpsCase{"high_width_cropped", 642, 362, "-profile:v high"},
                      SpsCase{"high_interlaced", 640, 360, "-profile:v high -x264-params interlaced=1"},
                      SpsCase{"high444_cropped", 320, 180, "-pix_fmt yuv444p -profile:v high444"}),
    [](const auto& info) { return std::string(info.param.name); });

// An SPS written field by field (ITU-T H.264 7.3.2.1.1), with emulation
// prevention bytes inserted as an encoder must.
class SpsWriter {
 public:
  void bits(uint32_t v, int n) {
    for (int i = n - 1; i >= 0; --i) bit((v >> i) & 1u);
  }
  void ue(uint32_t v) {
    const uint32_t x = v + 1;
    int len = 0;
    while ((x >> len) > 1) ++len;
    bits(0, len);
    bits(x, len + 1);
  }
  void se(int32_t v) { ue(v > 0 ? static_cast<uint32_t>(2 * v - 1) : static_cast<uint32_t>(-2 * v)); }
  // rbsp_trailing_bits, then the NAL unit: header 0x67 and the escaped RBSP.
  std::vector<uint8_t> nal() {
    bit(1);
    while (n_ % 8) bit(0);
    std::vector<uint8_t> out = {0x67};
    int zeros = 0;
    for (uint8_t b : rbsp_) {
      if (zeros >= 2 && b <= 3) {
        out.push_back(0x03);
        zeros = 0;
      }
      out.push_back(b);
      zeros = b == 0 ? zeros + 1 : 0;
    }
    return out;
  }

 private:
  void bit(uint32_t b) {
    if (n_ % 8 == 0) rbsp_.push_back(0);
    if (b) rbsp_.back() |= static_cast<uint8_t>(0x80 >> (n_ % 8));
    ++n_;
  }
  std::vector<uint8_t> rbsp_;
  size_t n_ = 0;
};

// High profile, 4:2:0, scaling matrices in the SPS (lists 0, 3 and 6
// explicit, list 1 "use default", the others absent), POC type 1 with a
// cycle of 3, 80 x 45 macroblocks cropped by 4 units at the bottom: 1280x712.
TEST(SpsSize, ScalingMatricesAndPocType1AreSkippedToTheSize) {
  SpsWriter w;
  w.bits(100, 8);  // profile_idc: High
  w.bits(0, 8);    // constraint flags
  w.bits(40, 8);   // level_idc
  w.ue(0);         // seq_parameter_set_id
  w.ue(1);         // chroma_format_idc 4:2:0
  w.ue(0);         // bit_depth_luma_minus8
  w.ue(0);         // bit_depth_chroma_minus8
  w.bits(0, 1);    // qpprime_y_zero_transform_bypass_flag
  w.bits(1, 1);    // seq_scaling_matrix_present_flag
  for (int i = 0; i < 8; ++i) {
    const bool present = i == 0 || i == 1 || i == 3 || i == 6;
    w.bits(present, 1);
    if (!present) continue;
    if (i == 1) {
      w.se(-8);  // nextScale 0 at j = 0: the default list
      continue;
    }
    const int size = i < 6 ? 16 : 64;
    int last = 8;
    for (int j = 0; j < size; ++j) {  // a ramp 9, 10, ... (mod 256), never 0
      const int want = (8 + j + 1) % 255 + 1;
      int delta = want - last;
      if (delta > 127) delta -= 256;
      if (delta < -128) delta += 256;
      w.se(delta);
      last = want;
    }
  }
  w.ue(0);   // log2_max_frame_num_minus4
  w.ue(1);   // pic_order_cnt_type 1
  w.bits(0, 1);
  w.se(-2);  // offset_for_non_ref_pic
  w.se(3);   // offset_for_top_to_bottom_field
  w.ue(3);   // num_ref_frames_in_pic_order_cnt_cycle
  for (int i = 0; i < 3; ++i) w.se(i - 1);
  w.ue(4);        // max_num_ref_frames
  w.bits(0, 1);   // gaps_in_frame_num_value_allowed_flag
  w.ue(79);       // pic_width_in_mbs_minus1
  w.ue(44);       // pic_height_in_map_units_minus1
  w.bits(1, 1);   // frame_mbs_only_flag
  w.bits(1, 1);   // direct_8x8_inference_flag
  w.bits(1, 1);   // frame_cropping_flag
  w.ue(0);
  w.ue(0);
  w.ue(0);
  w.ue(4);        // bottom: 4 units of 2 rows
  w.bits(0, 1);   // vui_parameters_present_flag
  const std::vector<uint8_t> sps = w.nal();
  const auto size = parse_sps_size(sps);
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(size->width, 1280);
  EXPECT_EQ(size->height, 712);
}

TEST(SpsSize, NotAnSpsOrNotPlausibleIsRefused) {
  const uint8_t pps[] = {0x68, 0xce, 0x3c, 0x80};
  EXPECT_FALSE(parse_sps_size(pps).has_value());
  EXPECT_FALSE(parse_sps_size({}).has_value());
  // profile 66, level 31, then all ones: Exp-Golomb values of 0 until the
  // end, which leaves the stream short of the size fields.
  const uint8_t short_sps[] = {0x67, 0x42, 0xc0, 0x1f};
  EXPECT_FALSE(parse_sps_size(short_sps).has_value());
  // 32 leading zero bits: no Exp-Golomb value that long is accepted.
  const uint8_t long_code[] = {0x67, 0x42, 0xc0, 0x1f, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x00, 0x01};
  EXPECT_FALSE(parse_sps_size(long_code).has_value());
  // Found by fuzz_h264_depacketizer: a scaling list whose delta_scale is
  // near 2^31 overflowed an int (UBSan).
  const uint8_t huge_delta[] = {0x67, 0x64, 0x69, 0x47, 0x5a, 0x73, 0x36, 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
                                0x00, 0x61, 0x60, 0x00, 0x07, 0x89, 0x80, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x00, 0x00, 0xc0};
  (void)parse_sps_size(huge_delta);
}

}  // namespace
}  // namespace sipmix::video::h264
