#include "rtp_payload/h264_sps.h"

namespace sipmix::video::h264 {
namespace {

// Reads the RBSP of a NAL unit bit by bit, dropping emulation prevention
// bytes (00 00 03 -> 00 00) as it goes. Reading past the end sets failed()
// and yields zeros, so a parse checks once at the end.
class BitReader {
 public:
  explicit BitReader(std::span<const uint8_t> rbsp) : data_(rbsp) {}

  uint32_t bit() {
    if (bit_ == 0 && !load()) return 0;
    --bit_;
    return (byte_ >> bit_) & 1u;
  }
  uint32_t bits(int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 1) | bit();
    return v;
  }
  // ue(v), Exp-Golomb; values above 2^31 - 2 are not plausible here.
  uint32_t ue() {
    int zeros = 0;
    while (bit() == 0) {
      if (failed_ || ++zeros > 31) {
        failed_ = true;
        return 0;
      }
    }
    return (1u << zeros) - 1 + bits(zeros);
  }
  int32_t se() {
    const uint32_t k = ue();
    return (k & 1) ? static_cast<int32_t>((k + 1) / 2) : -static_cast<int32_t>(k / 2);
  }
  bool failed() const { return failed_; }

 private:
  bool load() {
    if (pos_ >= data_.size()) {
      failed_ = true;
      return false;
    }
    uint8_t b = data_[pos_++];
    if (zeros_ >= 2 && b == 0x03) {  // emulation prevention byte
      zeros_ = 0;
      if (pos_ >= data_.size()) {
        failed_ = true;
        return false;
      }
      b = data_[pos_++];
    }
    zeros_ = b == 0 ? zeros_ + 1 : 0;
    byte_ = b;
    bit_ = 8;
    return true;
  }

  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  int zeros_ = 0;
  uint32_t byte_ = 0;
  int bit_ = 0;
  bool failed_ = false;
};

// scaling_list() of §7.3.2.1.1.1: only its length matters here.
void skip_scaling_list(BitReader& r, int size) {
  int last = 8, next = 8;
  for (int j = 0; j < size && !r.failed(); ++j) {
    // In 64 bits: a malformed delta_scale can be any 32-bit value.
    if (next != 0) next = static_cast<int>(((int64_t{last} + r.se()) % 256 + 256) % 256);
    last = next == 0 ? last : next;
  }
}

bool high_profile(uint32_t profile_idc) {
  switch (profile_idc) {
    case 100: case 110: case 122: case 244: case 44: case 83: case 86: case 118: case 128: case 138: case 139:
    case 134: case 135:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::optional<SpsSize> parse_sps_size(std::span<const uint8_t> nal) {
  if (nal.size() < 4 || (nal[0] & 0x1F) != 7) return std::nullopt;
  BitReader r(nal.subspan(1));
  const uint32_t profile_idc = r.bits(8);
  r.bits(8);  // constraint_set flags, reserved_zero_2bits
  r.bits(8);  // level_idc
  if (r.ue() > 31) return std::nullopt;  // seq_parameter_set_id
  uint32_t chroma_format_idc = 1;
  bool separate_colour_plane = false;
  if (high_profile(profile_idc)) {
    chroma_format_idc = r.ue();
    if (chroma_format_idc > 3) return std::nullopt;
    if (chroma_format_idc == 3) separate_colour_plane = r.bit();
    r.ue();   // bit_depth_luma_minus8
    r.ue();   // bit_depth_chroma_minus8
    r.bit();  // qpprime_y_zero_transform_bypass_flag
    if (r.bit()) {  // seq_scaling_matrix_present_flag
      const int lists = chroma_format_idc != 3 ? 8 : 12;
      for (int i = 0; i < lists && !r.failed(); ++i)
        if (r.bit()) skip_scaling_list(r, i < 6 ? 16 : 64);
    }
  }
  r.ue();  // log2_max_frame_num_minus4
  const uint32_t poc_type = r.ue();
  if (poc_type == 0) {
    r.ue();  // log2_max_pic_order_cnt_lsb_minus4
  } else if (poc_type == 1) {
    r.bit();  // delta_pic_order_always_zero_flag
    r.se();   // offset_for_non_ref_pic
    r.se();   // offset_for_top_to_bottom_field
    const uint32_t cycle = r.ue();
    if (cycle > 255) return std::nullopt;
    for (uint32_t i = 0; i < cycle && !r.failed(); ++i) r.se();
  } else if (poc_type != 2) {
    return std::nullopt;
  }
  r.ue();   // max_num_ref_frames
  r.bit();  // gaps_in_frame_num_value_allowed_flag
  const uint32_t width_mbs = r.ue() + 1;
  const uint32_t height_map_units = r.ue() + 1;
  const uint32_t frame_mbs_only = r.bit();
  if (!frame_mbs_only) r.bit();  // mb_adaptive_frame_field_flag
  r.bit();                       // direct_8x8_inference_flag
  uint32_t crop_left = 0, crop_right = 0, crop_top = 0, crop_bottom = 0;
  if (r.bit()) {  // frame_cropping_flag
    crop_left = r.ue();
    crop_right = r.ue();
    crop_top = r.ue();
    crop_bottom = r.ue();
  }
  if (r.failed() || width_mbs > 1024 || height_map_units > 1024) return std::nullopt;
  // Cropping units (Table 6-1 and equations 7-19..7-22).
  const uint32_t array_type = separate_colour_plane ? 0 : chroma_format_idc;
  const uint32_t sub_w = array_type == 1 || array_type == 2 ? 2 : 1;
  const uint32_t sub_h = array_type == 1 ? 2 : 1;
  const uint32_t unit_x = array_type == 0 ? 1 : sub_w;
  const uint32_t unit_y = (array_type == 0 ? 1 : sub_h) * (2 - frame_mbs_only);
  const int64_t w = int64_t{width_mbs} * 16 - int64_t{unit_x} * (int64_t{crop_left} + crop_right);
  const int64_t h = int64_t{height_map_units} * 16 * (2 - frame_mbs_only) - int64_t{unit_y} * (int64_t{crop_top} + crop_bottom);
  if (w <= 0 || h <= 0 || w > 16384 || h > 16384) return std::nullopt;
  return SpsSize{static_cast<int>(w), static_cast<int>(h)};
}

}  // namespace sipmix::video::h264
