// SSE4.1 scaling kernels, whole vectors only (see simd/scale.h for the spec).
#include <smmintrin.h>

#include <array>
#include <cstring>

#include "simd/scale.h"

namespace sipmix::simd::sse41 {
namespace {

// pshufb masks for the 3:1 box: from three registers of 8 u16 column sums
// (columns 0..23), mask [p][r] moves column 3j + p (if it lives in register r)
// to u16 slot j and zeroes the other slots.
constexpr std::array<std::array<std::array<int8_t, 16>, 3>, 3> make_down3_masks() {
  std::array<std::array<std::array<int8_t, 16>, 3>, 3> m{};
  for (int p = 0; p < 3; ++p)
    for (int r = 0; r < 3; ++r)
      for (int j = 0; j < 8; ++j) {
        const int c = 3 * j + p;
        const bool here = c / 8 == r;
        m[p][r][2 * j] = here ? static_cast<int8_t>(2 * (c % 8)) : int8_t{-128};
        m[p][r][2 * j + 1] = here ? static_cast<int8_t>(2 * (c % 8) + 1) : int8_t{-128};
      }
  return m;
}
alignas(16) constexpr auto kDown3Masks = make_down3_masks();

inline __m128i load(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
inline __m128i mask(int p, int r) { return _mm_load_si128(reinterpret_cast<const __m128i*>(kDown3Masks[p][r].data())); }

// Sum of the 3 column triplets held in v0..v2 (24 u16 columns -> 8 sums).
inline __m128i triplets(__m128i v0, __m128i v1, __m128i v2) {
  __m128i s = _mm_setzero_si128();
  const __m128i v[3] = {v0, v1, v2};
  for (int p = 0; p < 3; ++p)
    for (int r = 0; r < 3; ++r) s = _mm_add_epi16(s, _mm_shuffle_epi8(v[r], mask(p, r)));
  return s;
}

}  // namespace

void scale_row_down2_box(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, int dst_width) {
  const __m128i ones = _mm_set1_epi8(1);
  const __m128i two = _mm_set1_epi16(2);
  const uint8_t* s1 = src + src_stride;
  for (int i = 0; i < dst_width; i += 16) {
    const uint8_t* a = src + 2 * i;
    const uint8_t* b = s1 + 2 * i;
    __m128i lo = _mm_add_epi16(_mm_maddubs_epi16(load(a), ones), _mm_maddubs_epi16(load(b), ones));
    __m128i hi = _mm_add_epi16(_mm_maddubs_epi16(load(a + 16), ones), _mm_maddubs_epi16(load(b + 16), ones));
    lo = _mm_srli_epi16(_mm_add_epi16(lo, two), 2);
    hi = _mm_srli_epi16(_mm_add_epi16(hi, two), 2);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm_packus_epi16(lo, hi));
  }
}

void scale_row_down3_box(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, int dst_width) {
  const __m128i zero = _mm_setzero_si128();
  const __m128i k9 = _mm_set1_epi16(3641);
  for (int i = 0; i < dst_width; i += 16) {
    __m128i v[6];
    for (int c = 0; c < 3; ++c) {
      const uint8_t* p = src + 3 * i + 16 * c;
      const __m128i r0 = load(p), r1 = load(p + src_stride), r2 = load(p + 2 * src_stride);
      v[2 * c] = _mm_add_epi16(_mm_add_epi16(_mm_unpacklo_epi8(r0, zero), _mm_unpacklo_epi8(r1, zero)),
                               _mm_unpacklo_epi8(r2, zero));
      v[2 * c + 1] = _mm_add_epi16(_mm_add_epi16(_mm_unpackhi_epi8(r0, zero), _mm_unpackhi_epi8(r1, zero)),
                                   _mm_unpackhi_epi8(r2, zero));
    }
    const __m128i lo = _mm_mulhrs_epi16(triplets(v[0], v[1], v[2]), k9);
    const __m128i hi = _mm_mulhrs_epi16(triplets(v[3], v[4], v[5]), k9);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm_packus_epi16(lo, hi));
  }
}

void scale_interp_row(uint8_t* dst, const uint8_t* src0, const uint8_t* src1, int width, int frac128) {
  if (frac128 == 0) {
    std::memcpy(dst, src0, static_cast<size_t>(width));
    return;
  }
  const __m128i w = _mm_set1_epi16(static_cast<int16_t>((128 - frac128) | (frac128 << 8)));
  const __m128i r = _mm_set1_epi16(64);
  for (int i = 0; i < width; i += 16) {
    const __m128i a = load(src0 + i), b = load(src1 + i);
    __m128i lo = _mm_maddubs_epi16(_mm_unpacklo_epi8(a, b), w);
    __m128i hi = _mm_maddubs_epi16(_mm_unpackhi_epi8(a, b), w);
    lo = _mm_srli_epi16(_mm_add_epi16(lo, r), 7);
    hi = _mm_srli_epi16(_mm_add_epi16(hi, r), 7);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm_packus_epi16(lo, hi));
  }
}

void scale_filter_cols(uint8_t* dst, const uint8_t* src, int dst_width, int32_t x_q16, int32_t dx_q16) {
  const __m128i step4 = _mm_set1_epi32(4 * dx_q16);
  const __m128i m127 = _mm_set1_epi32(127);
  const __m128i k128 = _mm_set1_epi32(128);
  const __m128i r = _mm_set1_epi16(64);
  __m128i x = _mm_add_epi32(_mm_set1_epi32(x_q16), _mm_mullo_epi32(_mm_set_epi32(3, 2, 1, 0), _mm_set1_epi32(dx_q16)));
  for (int i = 0; i < dst_width; i += 8) {
    const __m128i x1 = _mm_add_epi32(x, step4);
    alignas(16) uint32_t k[8];
    _mm_store_si128(reinterpret_cast<__m128i*>(k), _mm_srli_epi32(x, 16));
    _mm_store_si128(reinterpret_cast<__m128i*>(k + 4), _mm_srli_epi32(x1, 16));
    alignas(16) uint16_t pr[8];
    for (int l = 0; l < 8; ++l) std::memcpy(&pr[l], src + k[l], 2);
    const __m128i pairs = _mm_load_si128(reinterpret_cast<const __m128i*>(pr));
    const __m128i f0 = _mm_and_si128(_mm_srli_epi32(x, 9), m127);
    const __m128i f1 = _mm_and_si128(_mm_srli_epi32(x1, 9), m127);
    const __m128i w0 = _mm_or_si128(_mm_sub_epi32(k128, f0), _mm_slli_epi32(f0, 8));
    const __m128i w1 = _mm_or_si128(_mm_sub_epi32(k128, f1), _mm_slli_epi32(f1, 8));
    // A 128 weight (f == 0) does not fit a signed byte: use 127 + the pair's
    // own left pixel once more, which is exact.
    const __m128i w = _mm_packus_epi32(w0, w1);
    const __m128i full = _mm_cmpeq_epi16(w, _mm_set1_epi16(128));
    const __m128i wf = _mm_sub_epi16(w, _mm_and_si128(full, _mm_set1_epi16(1)));
    __m128i v = _mm_maddubs_epi16(pairs, wf);
    v = _mm_add_epi16(v, _mm_and_si128(full, _mm_and_si128(pairs, _mm_set1_epi16(0xff))));
    v = _mm_srli_epi16(_mm_add_epi16(v, r), 7);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + i), _mm_packus_epi16(v, v));
    x = _mm_add_epi32(x1, step4);
  }
}

void scale_accum_row(uint16_t* acc, const uint8_t* src, int width, int weight) {
  const __m128i w = _mm_set1_epi16(static_cast<int16_t>(weight));
  for (int i = 0; i < width; i += 16) {
    const __m128i s = load(src + i);
    __m128i* a = reinterpret_cast<__m128i*>(acc + i);
    const __m128i lo = _mm_mullo_epi16(_mm_cvtepu8_epi16(s), w);
    const __m128i hi = _mm_mullo_epi16(_mm_cvtepu8_epi16(_mm_srli_si128(s, 8)), w);
    _mm_storeu_si128(a, _mm_add_epi16(_mm_loadu_si128(a), lo));
    _mm_storeu_si128(a + 1, _mm_add_epi16(_mm_loadu_si128(a + 1), hi));
  }
}

void scale_box_cols(uint8_t* dst, const uint16_t* acc, int dst_width, int32_t x_q8, int32_t dx_q8) {
  const uint32_t dxu = static_cast<uint32_t>(dx_q8);
  const __m128i dx = _mm_set1_epi32(dx_q8);
  const __m128i rcp = _mm_set1_epi32(static_cast<int32_t>((1u << 24) / dxu));
  const __m128i k256 = _mm_set1_epi32(256);
  const __m128i one = _mm_set1_epi32(1);
  const __m128i round = _mm_set1_epi32(32768);
  const int taps = static_cast<int>((dxu + 255) / 256 + 1);
  __m128i a = _mm_add_epi32(_mm_set1_epi32(x_q8), _mm_mullo_epi32(_mm_set_epi32(3, 2, 1, 0), dx));
  const __m128i step = _mm_set1_epi32(4 * dx_q8);
  for (int i = 0; i < dst_width; i += 4) {
    const __m128i b = _mm_add_epi32(a, dx);
    __m128i p = _mm_srli_epi32(a, 8);
    __m128i g_prev = _mm_setzero_si128(), sum = _mm_setzero_si128();
    for (int t = 0; t < taps; ++t) {
      const __m128i end = _mm_slli_epi32(_mm_add_epi32(p, one), 8);
      const __m128i c = _mm_sub_epi32(_mm_min_epu32(end, b), a);
      const __m128i full = _mm_cmpeq_epi32(_mm_min_epu32(c, dx), dx);
      const __m128i g = _mm_blendv_epi8(_mm_srli_epi32(_mm_mullo_epi32(c, rcp), 16), k256, full);
      alignas(16) uint32_t k[4];
      _mm_store_si128(reinterpret_cast<__m128i*>(k), p);
      const __m128i v = _mm_set_epi32(acc[k[3]], acc[k[2]], acc[k[1]], acc[k[0]]);
      sum = _mm_add_epi32(sum, _mm_mullo_epi32(_mm_sub_epi32(g, g_prev), v));
      g_prev = g;
      p = _mm_add_epi32(p, one);
    }
    const __m128i o = _mm_srli_epi32(_mm_add_epi32(sum, round), 16);
    const __m128i o8 = _mm_packus_epi16(_mm_packus_epi32(o, o), _mm_setzero_si128());
    const int32_t word = _mm_cvtsi128_si32(o8);
    std::memcpy(dst + i, &word, 4);
    a = _mm_add_epi32(a, step);
  }
}

void scale_rows3_cols4_groups(uint8_t* dst, const uint8_t* src, ptrdiff_t src_stride, const ScaleCols4Plan& plan,
                              int g0, int g1, int32_t bias) {
  const __m128i k96 = _mm_set1_epi16(96);
  const __m128i k43691 = _mm_set1_epi16(static_cast<int16_t>(43691));
  for (int g = g0; g < g1; ++g) {
    const uint8_t* p = src + plan.offset[g] - bias;
    const __m128i shuf = _mm_load_si128(reinterpret_cast<const __m128i*>(plan.shuffle + 16 * g));
    const __m128i w = _mm_load_si128(reinterpret_cast<const __m128i*>(plan.weight + 16 * g));
    // [o0..o3 taps 0+1, o0..o3 taps 2+3] per row, each <= 32640.
    const __m128i p0 = _mm_maddubs_epi16(_mm_shuffle_epi8(load(p), shuf), w);
    const __m128i p1 = _mm_maddubs_epi16(_mm_shuffle_epi8(load(p + src_stride), shuf), w);
    const __m128i p2 = _mm_maddubs_epi16(_mm_shuffle_epi8(load(p + 2 * src_stride), shuf), w);
    const __m128i q = _mm_add_epi16(_mm_srli_epi16(_mm_add_epi16(p0, p1), 1), _mm_srli_epi16(p2, 1));
    const __m128i t = _mm_add_epi16(q, _mm_srli_si128(q, 8));
    const __m128i o = _mm_srli_epi16(_mm_mulhi_epu16(_mm_add_epi16(t, k96), k43691), 7);
    const int32_t v = _mm_cvtsi128_si32(_mm_packus_epi16(o, o));
    std::memcpy(dst + 4 * (g - g0), &v, 4);
  }
}

}  // namespace sipmix::simd::sse41
