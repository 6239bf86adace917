// Audio mixing kernels and their dispatch table. Every slot has a scalar
// reference in simd/scalar/ that is its specification; the x86 versions in
// simd/x86/ are checked against it by tests/simd (checksimd).
// Tables are filled once at init and then only read (any thread).
#pragma once

#include <cstddef>
#include <cstdint>

namespace sipmix::simd {

// acc[i] += src[i], int16 samples widened to int32 (no saturation).
using MixAccumulateS16Fn = void (*)(int32_t* acc, const int16_t* src, size_t n);

struct MixDsp {
  MixAccumulateS16Fn mix_accumulate_s16;
};

// Fills `dsp` with scalar versions, then upgrades per ISA in ascending order
// for each flag present in `cpu_flags`.
void mix_dsp_init(MixDsp* dsp, uint32_t cpu_flags);
// Process-wide table for cpu_flags(), built on first use.
const MixDsp& mix_dsp();

namespace scalar {
void mix_accumulate_s16(int32_t* acc, const int16_t* src, size_t n);
}
namespace sse41 {
void mix_accumulate_s16(int32_t* acc, const int16_t* src, size_t n);  // n % 8 == 0
}
namespace avx2 {
void mix_accumulate_s16(int32_t* acc, const int16_t* src, size_t n);  // n % 16 == 0
}

}  // namespace sipmix::simd
