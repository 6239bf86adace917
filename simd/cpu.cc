#include "simd/cpu.h"

#include <atomic>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace sipmix::simd {
namespace {

uint32_t detect() {
  uint32_t flags = 0;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  if (d & bit_SSE2) flags |= kCpuSse2;
  if (c & bit_SSSE3) flags |= kCpuSsse3;
  if (c & bit_SSE4_1) flags |= kCpuSse41;
  const bool osxsave = c & bit_OSXSAVE;
  const bool fma = c & bit_FMA;
  const bool avx = c & bit_AVX;
  if (osxsave && avx && fma) {
    unsigned lo, hi;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    const bool ymm_state = (lo & 0x6) == 0x6;
    if (ymm_state && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_AVX2) && (b & bit_BMI2))
      flags |= kCpuAvx2;
  }
#elif defined(__aarch64__)
  flags |= kCpuNeon;
#endif
  return flags;
}

std::atomic<uint32_t> g_mask{~0u};

}  // namespace

uint32_t detected_cpu_flags() {
  static const uint32_t flags = detect();
  return flags;
}

uint32_t cpu_flags() { return detected_cpu_flags() & g_mask.load(std::memory_order_relaxed); }

void set_cpu_flag_mask(uint32_t mask) { g_mask.store(mask, std::memory_order_relaxed); }

const char* cpu_level_name(uint32_t flags) {
  if (flags & kCpuAvx2) return "avx2";
  if (flags & kCpuSse41) return "sse41";
  if (flags & kCpuSsse3) return "ssse3";
  if (flags & kCpuSse2) return "sse2";
  if (flags & kCpuNeon) return "neon";
  return "c";
}

}  // namespace sipmix::simd
