// AVX2 scaling kernels, whole vectors only (see simd/scale.h for the spec).
#include <immintrin.h>

#include <array>
#include <cstring>

#include "simd/scale.h"

namespace sipmix::simd::avx2 {
namespace {

// Same masks as the SSE4.1 3:1 box, repeated in both 128-bit lanes: each lane
// reduces its own 48 source columns to 16 outputs.
constexpr std::array<std::array<std::array<int8_t, 32>, 3>, 3> make_down3_masks() {
  std::array<std::array<std::array<int8_t, 32>, 3>, 3> m{};
  for (int p = 0; p < 3; ++p)
    for (int r = 0; r < 3; ++r)
      for (int j = 0; j < 8; ++j) {
        const int c = 3 * j + p;
        const bool here = c / 8 == r;
        for (int lane = 0; lane < 2; ++lane) {
          m[p][r][16 * lane + 2 * j] = here ? static_cast<int8_t>(2 * (c % 8)) : int8_t{-128};
          m[p][r][16 * lane + 2 * j + 1] = here ? static_cast<int8_t>(2 * (c % 8) + 1) : int8_t{-128};
        }
      }
  return m;
}
alignas(32) constexpr auto kDown3Masks = make_down3_masks();

inline __m256i load(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline __m256i load2(const uint8_t* lo, const uint8_t* hi) {
  return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(lo))),
                                 _mm_loadu_si128(reinterpret_cast<const __m128i*>(hi)), 1);
}
inline __m256i mask(int p, int r) {
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(kDown3Masks[p][r].data()));
}

inline __m256i triplets(__m256i v0, __m256i v1, __m256i v2) {
  const __m256i v[3] = {v0, v1, v2};
  __m256i s = _mm256_setzero_si256();
  for (int p = 0; p < 3; ++p)
    for (int r = 0; r < 3; ++r) s = _mm256_add_epi16(s, _mm256_shuffle_epi8(v[r], mask(p, r)));
  return s;
}

}  // namespace

void scale_row_down2_box(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, int dst_width) {
  const __m256i ones = _mm256_set1_epi8(1);
  const __m256i two = _mm256_set1_epi16(2);
  const uint8_t* s1 = src + src_stride;
  for (int i = 0; i < dst_width; i += 32) {
    const uint8_t* a = src + 2 * i;
    const uint8_t* b = s1 + 2 * i;
    __m256i lo = _mm256_add_epi16(_mm256_maddubs_epi16(load(a), ones), _mm256_maddubs_epi16(load(b), ones));
    __m256i hi = _mm256_add_epi16(_mm256_maddubs_epi16(load(a + 32), ones), _mm256_maddubs_epi16(load(b + 32), ones));
    lo = _mm256_srli_epi16(_mm256_add_epi16(lo, two), 2);
    hi = _mm256_srli_epi16(_mm256_add_epi16(hi, two), 2);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i),
                        _mm256_permute4x64_epi64(_mm256_packus_epi16(lo, hi), 0xD8));
  }
}

void scale_row_down3_box(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, int dst_width) {
  const __m256i zero = _mm256_setzero_si256();
  const __m256i k9 = _mm256_set1_epi16(3641);
  for (int i = 0; i < dst_width; i += 32) {
    // Lane 0 holds source columns [0, 48) of this block, lane 1 [48, 96).
    __m256i v[6];
    for (int c = 0; c < 3; ++c) {
      const uint8_t* p = src + 3 * i + 16 * c;
      const __m256i r0 = load2(p, p + 48);
      const __m256i r1 = load2(p + src_stride, p + src_stride + 48);
      const __m256i r2 = load2(p + 2 * src_stride, p + 2 * src_stride + 48);
      v[2 * c] = _mm256_add_epi16(
          _mm256_add_epi16(_mm256_unpacklo_epi8(r0, zero), _mm256_unpacklo_epi8(r1, zero)),
          _mm256_unpacklo_epi8(r2, zero));
      v[2 * c + 1] = _mm256_add_epi16(
          _mm256_add_epi16(_mm256_unpackhi_epi8(r0, zero), _mm256_unpackhi_epi8(r1, zero)),
          _mm256_unpackhi_epi8(r2, zero));
    }
    const __m256i lo = _mm256_mulhrs_epi16(triplets(v[0], v[1], v[2]), k9);
    const __m256i hi = _mm256_mulhrs_epi16(triplets(v[3], v[4], v[5]), k9);
    // In-lane pack keeps order: lane 0 = outputs 0..15, lane 1 = 16..31.
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_packus_epi16(lo, hi));
  }
}

void scale_interp_row(uint8_t* dst, const uint8_t* src0, const uint8_t* src1, int width, int frac128) {
  if (frac128 == 0) {
    std::memcpy(dst, src0, static_cast<size_t>(width));
    return;
  }
  const __m256i w = _mm256_set1_epi16(static_cast<int16_t>((128 - frac128) | (frac128 << 8)));
  const __m256i r = _mm256_set1_epi16(64);
  for (int i = 0; i < width; i += 32) {
    const __m256i a = load(src0 + i), b = load(src1 + i);
    __m256i lo = _mm256_maddubs_epi16(_mm256_unpacklo_epi8(a, b), w);
    __m256i hi = _mm256_maddubs_epi16(_mm256_unpackhi_epi8(a, b), w);
    lo = _mm256_srli_epi16(_mm256_add_epi16(lo, r), 7);
    hi = _mm256_srli_epi16(_mm256_add_epi16(hi, r), 7);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_packus_epi16(lo, hi));
  }
}

namespace {

// Packs 2 x 8 int32 results (0..255) to 16 bytes in order.
inline void store16(uint8_t* dst, __m256i a, __m256i b) {
  const __m256i w16 = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xD8);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst),
                   _mm_packus_epi16(_mm256_castsi256_si128(w16), _mm256_extracti128_si256(w16, 1)));
}

}  // namespace

void scale_filter_cols(uint8_t* dst, const uint8_t* src, int dst_width, int32_t x_q16, int32_t dx_q16) {
  const __m256i step8 = _mm256_set1_epi32(8 * dx_q16);
  const __m256i m127 = _mm256_set1_epi32(127);
  const __m256i k128 = _mm256_set1_epi32(128);
  const __m256i r = _mm256_set1_epi32(64);
  __m256i x = _mm256_add_epi32(_mm256_set1_epi32(x_q16),
                               _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(dx_q16)));
  if (dx_q16 <= (4 << 16)) {
    // 4 outputs span at most 14 source bytes: each 128-bit lane loads 16 bytes
    // at its first output's position and pshufb spreads every (k, k + 1) pair
    // to two zero-extended 16-bit halves; one madd applies both weights.
    const __m256i first_of_lane = _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4);
    const __m256i zero_hi = _mm256_set1_epi32(static_cast<int32_t>(0x80008000u));
    const __m256i one = _mm256_set1_epi32(1);
    for (int i = 0; i < dst_width; i += 16) {
      __m256i out[2];
      for (int h = 0; h < 2; ++h) {
        const __m256i k = _mm256_srli_epi32(x, 16);
        const __m256i rel = _mm256_sub_epi32(k, _mm256_permutevar8x32_epi32(k, first_of_lane));
        const __m256i shuf = _mm256_or_si256(_mm256_or_si256(rel, _mm256_slli_epi32(_mm256_add_epi32(rel, one), 16)), zero_hi);
        const uint8_t* p0 = src + _mm256_cvtsi256_si32(k);
        const uint8_t* p1 = src + _mm256_extract_epi32(k, 4);
        const __m256i s = _mm256_shuffle_epi8(load2(p0, p1), shuf);
        const __m256i f = _mm256_and_si256(_mm256_srli_epi32(x, 9), m127);
        const __m256i w = _mm256_or_si256(_mm256_sub_epi32(k128, f), _mm256_slli_epi32(f, 16));
        out[h] = _mm256_srli_epi32(_mm256_add_epi32(_mm256_madd_epi16(s, w), r), 7);
        x = _mm256_add_epi32(x, step8);
      }
      store16(dst + i, out[0], out[1]);
    }
    return;
  }
  const __m256i lo16 = _mm256_set1_epi32(0xffff);
  const int* base = reinterpret_cast<const int*>(src);
  for (int i = 0; i < dst_width; i += 16) {
    __m256i out[2];
    for (int h = 0; h < 2; ++h) {
      // Each 32-bit lane gathers src[k], src[k + 1] (+ 2 unused bytes).
      const __m256i pairs = _mm256_and_si256(_mm256_i32gather_epi32(base, _mm256_srli_epi32(x, 16), 1), lo16);
      const __m256i f = _mm256_and_si256(_mm256_srli_epi32(x, 9), m127);
      const __m256i w = _mm256_or_si256(_mm256_sub_epi32(k128, f), _mm256_slli_epi32(f, 16));
      // Spread the byte pair to two 16-bit halves: one madd gives the sum.
      const __m256i s = _mm256_or_si256(_mm256_and_si256(pairs, _mm256_set1_epi32(0xff)),
                                        _mm256_slli_epi32(_mm256_and_si256(pairs, _mm256_set1_epi32(0xff00)), 8));
      out[h] = _mm256_srli_epi32(_mm256_add_epi32(_mm256_madd_epi16(s, w), r), 7);
      x = _mm256_add_epi32(x, step8);
    }
    store16(dst + i, out[0], out[1]);
  }
}

void scale_accum_row(uint16_t* acc, const uint8_t* src, int width, int weight) {
  const __m256i w = _mm256_set1_epi16(static_cast<int16_t>(weight));
  for (int i = 0; i < width; i += 32) {
    const __m128i s0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    const __m128i s1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 16));
    __m256i* a = reinterpret_cast<__m256i*>(acc + i);
    const __m256i lo = _mm256_mullo_epi16(_mm256_cvtepu8_epi16(s0), w);
    const __m256i hi = _mm256_mullo_epi16(_mm256_cvtepu8_epi16(s1), w);
    _mm256_storeu_si256(a, _mm256_add_epi16(_mm256_loadu_si256(a), lo));
    _mm256_storeu_si256(a + 1, _mm256_add_epi16(_mm256_loadu_si256(a + 1), hi));
  }
}

void scale_box_cols(uint8_t* dst, const uint16_t* acc, int dst_width, int32_t x_q8, int32_t dx_q8) {
  const uint32_t dxu = static_cast<uint32_t>(dx_q8);
  const __m256i dx = _mm256_set1_epi32(dx_q8);
  const __m256i rcp = _mm256_set1_epi32(static_cast<int32_t>((1u << 24) / dxu));
  const __m256i k256 = _mm256_set1_epi32(256);
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i lo16 = _mm256_set1_epi32(0xffff);
  const __m256i round = _mm256_set1_epi32(32768);
  const int taps = static_cast<int>((dxu + 255) / 256 + 1);
  const int* base = reinterpret_cast<const int*>(acc);
  __m256i a = _mm256_add_epi32(_mm256_set1_epi32(x_q8), _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), dx));
  const __m256i step = _mm256_set1_epi32(8 * dx_q8);
  for (int i = 0; i < dst_width; i += 8) {
    const __m256i b = _mm256_add_epi32(a, dx);
    __m256i p = _mm256_srli_epi32(a, 8);
    __m256i g_prev = _mm256_setzero_si256(), sum = _mm256_setzero_si256();
    // One gather fetches two neighbouring taps (acc[p], acc[p + 1]); a tap
    // past the last one has weight 0 (its G is already 256).
    for (int t = 0; t < taps; t += 2) {
      const __m256i pair = _mm256_i32gather_epi32(base, p, 2);
      const __m256i v[2] = {_mm256_and_si256(pair, lo16), _mm256_srli_epi32(pair, 16)};
      for (int h = 0; h < 2; ++h) {
        const __m256i end = _mm256_slli_epi32(_mm256_add_epi32(p, one), 8);
        const __m256i c = _mm256_sub_epi32(_mm256_min_epu32(end, b), a);
        const __m256i full = _mm256_cmpeq_epi32(_mm256_min_epu32(c, dx), dx);
        const __m256i g = _mm256_blendv_epi8(_mm256_srli_epi32(_mm256_mullo_epi32(c, rcp), 16), k256, full);
        sum = _mm256_add_epi32(sum, _mm256_mullo_epi32(_mm256_sub_epi32(g, g_prev), v[h]));
        g_prev = g;
        p = _mm256_add_epi32(p, one);
      }
    }
    const __m256i o = _mm256_srli_epi32(_mm256_add_epi32(sum, round), 16);
    const __m128i o16 = _mm_packus_epi32(_mm256_castsi256_si128(o), _mm256_extracti128_si256(o, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + i), _mm_packus_epi16(o16, o16));
    a = _mm256_add_epi32(a, step);
  }
}

namespace {

// Groups g (lane 0) and g + 1 (lane 1): per lane 8 u16, the 4 outputs' tap
// pairs 0+1 then 2+3, already averaged over the 3 rows (Q of the spec).
inline __m256i rows3_q(const uint8_t* src, ptrdiff_t src_stride, const ScaleCols4Plan& plan, int g, int32_t bias) {
  const uint8_t* a = src + plan.offset[g] - bias;
  const uint8_t* b = src + plan.offset[g + 1] - bias;
  const __m256i shuf = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(plan.shuffle + 16 * g));
  const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(plan.weight + 16 * g));
  const __m256i p0 = _mm256_maddubs_epi16(_mm256_shuffle_epi8(load2(a, b), shuf), w);
  const __m256i p1 = _mm256_maddubs_epi16(_mm256_shuffle_epi8(load2(a + src_stride, b + src_stride), shuf), w);
  const __m256i p2 = _mm256_maddubs_epi16(_mm256_shuffle_epi8(load2(a + 2 * src_stride, b + 2 * src_stride), shuf), w);
  return _mm256_add_epi16(_mm256_srli_epi16(_mm256_add_epi16(p0, p1), 1), _mm256_srli_epi16(p2, 1));
}

inline __m256i div192(__m256i t) {
  return _mm256_srli_epi16(_mm256_mulhi_epu16(_mm256_add_epi16(t, _mm256_set1_epi16(96)),
                                              _mm256_set1_epi16(static_cast<int16_t>(43691))),
                           7);
}

}  // namespace

void scale_rows3_cols4_groups(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, const ScaleCols4Plan& plan,
                              int g0, int g1, int32_t bias) {
  int g = g0;
  auto four = [&](int k) {  // groups k .. k + 3 -> 16 outputs
    const __m256i q0 = rows3_q(src, src_stride, plan, k, bias);
    const __m256i q1 = rows3_q(src, src_stride, plan, k + 2, bias);
    const __m256i t = _mm256_add_epi16(_mm256_unpacklo_epi64(q0, q1), _mm256_unpackhi_epi64(q0, q1));
    const __m256i o8 = _mm256_packus_epi16(div192(t), div192(t));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 4 * (k - g0)),
                     _mm_unpacklo_epi32(_mm256_castsi256_si128(o8), _mm256_extracti128_si256(o8, 1)));
  };
  for (; g + 8 <= g1; g += 8) {
    four(g);
    four(g + 4);
  }
  // 4 groups (16 outputs) at a time: q0 = groups g, g + 1; q1 = g + 2, g + 3.
  for (; g + 4 <= g1; g += 4) {
    const __m256i q0 = rows3_q(src, src_stride, plan, g, bias);
    const __m256i q1 = rows3_q(src, src_stride, plan, g + 2, bias);
    // Lane 0 = [g, g + 2], lane 1 = [g + 1, g + 3]: 4 outputs each.
    const __m256i t = _mm256_add_epi16(_mm256_unpacklo_epi64(q0, q1), _mm256_unpackhi_epi64(q0, q1));
    const __m256i o8 = _mm256_packus_epi16(div192(t), div192(t));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 4 * (g - g0)),
                     _mm_unpacklo_epi32(_mm256_castsi256_si128(o8), _mm256_extracti128_si256(o8, 1)));
  }
  if (g < g1) {  // 2 groups left
    const __m256i q = rows3_q(src, src_stride, plan, g, bias);
    const __m256i o = div192(_mm256_add_epi16(q, _mm256_srli_si256(q, 8)));
    const __m256i o8 = _mm256_packus_epi16(o, o);  // bytes 0..3 of each lane
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + 4 * (g - g0)),
                     _mm_unpacklo_epi32(_mm256_castsi256_si128(o8), _mm256_extracti128_si256(o8, 1)));
  }
}

}  // namespace sipmix::simd::avx2
