// CPU feature detection, done once per process. Tests mask flags to force a
// lower ISA level (see checksimd); dispatch tables read cpu_flags() at init.
#pragma once

#include <cstdint>

namespace sipmix::simd {

enum CpuFlag : uint32_t {
  kCpuSse2 = 1u << 0,
  kCpuSsse3 = 1u << 1,
  kCpuSse41 = 1u << 2,
  kCpuAvx2 = 1u << 3,  // implies FMA and BMI2 here
  kCpuNeon = 1u << 4,
};

// Detected flags AND the mask. Detection runs once (thread-safe static init).
uint32_t cpu_flags();
// Restricts cpu_flags() to `mask`. For tests and benchmarks; call before
// building dispatch tables. Not thread-safe with concurrent init.
void set_cpu_flag_mask(uint32_t mask);
uint32_t detected_cpu_flags();

// Human-readable name of the highest flag in `flags` ("avx2", "sse41", "c").
const char* cpu_level_name(uint32_t flags);

}  // namespace sipmix::simd
