#include "rtp_payload/h264_depacketizer.h"

#include <cstring>

#include "rtp/byte_io.h"
#include "rtp_payload/h264_sps.h"

namespace sipmix::video::h264 {
namespace {

constexpr uint8_t kStartCode[4] = {0, 0, 0, 1};

// A NAL (header + at least its first payload byte) that can open an access unit.
bool nal_opens_access_unit(uint8_t header, const uint8_t* next, size_t next_size) {
  switch (nal_type(header)) {
    case kNalAud:
    case kNalSei:
    case kNalSps:
    case kNalPps:
      return true;
    case kNalSlice:
    case kNalIdr:
      // first_mb_in_slice is ue(v) and comes first: value 0 is the single bit '1'.
      return next_size >= 1 && (next[0] & 0x80);
    default:
      return false;
  }
}

}  // namespace

bool is_access_unit_start(std::span<const uint8_t> p) {
  if (p.empty()) return false;
  const uint8_t type = nal_type(p[0]);
  if (type >= 1 && type <= 23) return nal_opens_access_unit(p[0], p.data() + 1, p.size() - 1);
  if (type == kNalStapA) {
    if (p.size() < 4) return false;
    const size_t n = rtp::read_u16(&p[1]);
    if (n == 0 || n > p.size() - 3) return false;
    return nal_opens_access_unit(p[3], p.data() + 4, n - 1);
  }
  if (type == kNalFuA) {
    if (p.size() < 3 || !(p[1] & 0x80)) return false;
    return nal_opens_access_unit(static_cast<uint8_t>((p[0] & 0xE0) | (p[1] & 0x1F)), p.data() + 2, p.size() - 2);
  }
  return false;
}

void Depacketizer::note_nal(uint8_t type, std::span<const uint8_t> nal) {
  switch (type) {
    case kNalIdr:
      info_.has_idr = true;
      info_.has_slice = true;
      break;
    case kNalSlice:
      info_.has_slice = true;
      break;
    case kNalSps:
      info_.has_sps = true;
      if (const auto size = parse_sps_size(nal)) {
        info_.sps_width = size->width;
        info_.sps_height = size->height;
      }
      break;
    case kNalPps:
      info_.has_pps = true;
      break;
    default:
      break;
  }
}

bool Depacketizer::write_nal(std::span<const uint8_t> nal, uint8_t* out, size_t capacity, size_t* size) {
  if (capacity - *size < sizeof(kStartCode) || capacity - *size - sizeof(kStartCode) < nal.size()) return false;
  std::memcpy(out + *size, kStartCode, sizeof(kStartCode));
  std::memcpy(out + *size + sizeof(kStartCode), nal.data(), nal.size());
  *size += sizeof(kStartCode) + nal.size();
  return true;
}

Depacketizer::Result Depacketizer::append(std::span<const uint8_t> p, uint8_t* out, size_t capacity,
                                          size_t* size) {
  if (p.empty() || *size > capacity) return Result::kMalformed;
  if (p[0] & 0x80) return Result::kMalformed;  // forbidden_zero_bit
  const uint8_t type = nal_type(p[0]);

  if (type >= 1 && type <= 23) {
    if (in_fu_) return Result::kMalformed;  // FU-A interrupted
    if (!write_nal(p, out, capacity, size)) return Result::kOverflow;
    note_nal(type, p);
    return Result::kOk;
  }

  if (type == kNalStapA) {
    if (in_fu_) return Result::kMalformed;
    size_t pos = 1;
    int count = 0;
    while (pos < p.size()) {
      if (p.size() - pos < 2) return Result::kMalformed;
      const size_t n = rtp::read_u16(&p[pos]);
      pos += 2;
      if (n == 0 || n > p.size() - pos) return Result::kMalformed;
      const uint8_t inner = nal_type(p[pos]);
      if (inner == 0 || inner > 23 || (p[pos] & 0x80)) return Result::kMalformed;
      if (!write_nal(p.subspan(pos, n), out, capacity, size)) return Result::kOverflow;
      note_nal(inner, p.subspan(pos, n));
      pos += n;
      ++count;
    }
    return count > 0 ? Result::kOk : Result::kMalformed;
  }

  if (type == kNalFuA) {
    if (p.size() < 3) return Result::kMalformed;
    const bool start = p[1] & 0x80;
    const bool end = p[1] & 0x40;
    const uint8_t inner = nal_type(p[1]);
    if ((start && end) || inner == 0 || inner > 23) return Result::kMalformed;
    const std::span<const uint8_t> data = p.subspan(2);
    if (start) {
      if (in_fu_) return Result::kMalformed;
      if (capacity - *size < sizeof(kStartCode) + 1 || capacity - *size - sizeof(kStartCode) - 1 < data.size())
        return Result::kOverflow;
      std::memcpy(out + *size, kStartCode, sizeof(kStartCode));
      out[*size + sizeof(kStartCode)] = static_cast<uint8_t>((p[0] & 0xE0) | inner);
      *size += sizeof(kStartCode) + 1;
      in_fu_ = true;
      fu_type_ = inner;
      note_nal(inner, {});
    } else {
      if (!in_fu_ || inner != fu_type_) return Result::kMalformed;
      if (capacity - *size < data.size()) return Result::kOverflow;
    }
    std::memcpy(out + *size, data.data(), data.size());
    *size += data.size();
    if (end) in_fu_ = false;
    return Result::kOk;
  }

  if (type == kNalStapB || type == kNalMtap16 || type == kNalMtap24 || type == kNalFuB)
    return Result::kUnsupported;  // interleaved mode (2) only
  return Result::kMalformed;      // 0, 30, 31
}

std::span<const uint8_t> next_annexb_nal(std::span<const uint8_t> s, size_t* pos) {
  size_t i = *pos;
  // Find the first start code at or after i.
  while (i + 3 <= s.size() && !(s[i] == 0 && s[i + 1] == 0 && s[i + 2] == 1)) ++i;
  if (i + 3 > s.size()) {
    *pos = s.size();
    return {};
  }
  const size_t begin = i + 3;
  size_t j = begin;
  while (j + 3 <= s.size() && !(s[j] == 0 && s[j + 1] == 0 && (s[j + 2] == 1 || s[j + 2] == 0))) ++j;
  size_t end = j + 3 <= s.size() ? j : s.size();
  *pos = end;
  while (end > begin && s[end - 1] == 0) --end;  // trailing_zero_8bits
  return s.subspan(begin, end - begin);
}

bool annexb_has_idr(std::span<const uint8_t> s) {
  size_t pos = 0;
  while (pos < s.size()) {
    const std::span<const uint8_t> nal = next_annexb_nal(s, &pos);
    if (nal.empty()) continue;
    const uint8_t t = nal_type(nal[0]);
    if (t == kNalIdr) return true;
    if (t == kNalSlice) return false;  // an access unit does not mix IDR and non-IDR slices
  }
  return false;
}

}  // namespace sipmix::video::h264
