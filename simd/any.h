// libyuv-style "any width" adaptor: a SIMD kernel handles whole vectors only;
// the remainder goes through a small zero-padded stack buffer and the same
// kernel, so no SIMD kernel carries a scalar tail of its own.
#pragma once

#include <cstddef>
#include <cstring>

namespace sipmix::simd {

// For kernels of the form  kernel(Dst* dst, const Src* src, size_t n)  that
// read dst (accumulate) and src, and write dst. `kStep` elements per vector.
template <size_t kStep, typename Dst, typename Src, void (*Kernel)(Dst*, const Src*, size_t)>
void any_accumulate(Dst* dst, const Src* src, size_t n) {
  const size_t whole = n - n % kStep;
  if (whole) Kernel(dst, src, whole);
  const size_t rest = n - whole;
  if (!rest) return;
  alignas(64) Dst d[kStep] = {};
  alignas(64) Src s[kStep] = {};
  std::memcpy(d, dst + whole, rest * sizeof(Dst));
  std::memcpy(s, src + whole, rest * sizeof(Src));
  Kernel(d, s, kStep);
  std::memcpy(dst + whole, d, rest * sizeof(Dst));
}

}  // namespace sipmix::simd
