// checksimd: the harness that proves every SIMD kernel equal to its scalar
// reference (after dav1d's checkasm). For each ISA level the CPU has, a
// dispatch table is built with the flags masked to that level; only the slots
// that level *changes* are tested, against the scalar table. Inputs are random
// from a printed seed (set SIPMIX_CHECKSIMD_SEED to replay) plus worst-case
// patterns; outputs sit between guard bands that must stay untouched.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "simd/cpu.h"

namespace sipmix::checksimd {

uint64_t seed();
std::mt19937_64& rng();  // reseeded per test from seed()

struct Level {
  uint32_t flags;
  std::string name;
};
// Cumulative ISA levels the CPU supports, lowest first; "c" is level 0.
std::vector<Level> levels();

// Calls fn(level_name, table_at_level) for every level above c at which
// `slot` differs from the level below it. Returns how many versions ran.
template <typename Dsp, typename Init, typename Slot, typename Fn>
int for_each_added_version(Init init, Slot slot, Fn fn) {
  int ran = 0;
  Dsp prev{};
  init(&prev, 0u);
  for (const Level& lv : levels()) {
    if (lv.flags == 0) continue;
    Dsp cur{};
    init(&cur, lv.flags);
    if (cur.*slot != prev.*slot) {
      SCOPED_TRACE("version " + lv.name);
      fn(lv.name, cur);
      ++ran;
    }
    prev = cur;
  }
  return ran;
}

inline constexpr uint8_t kSentinel = 0xA5;
inline constexpr size_t kGuardBytes = 64;

// A buffer of `n` elements with sentinel-filled guard bands on both sides,
// starting `misalign` bytes past a 64-byte boundary.
template <typename T>
class Guarded {
 public:
  explicit Guarded(size_t n, size_t misalign_elems = 0)
      : n_(n), off_(kGuardBytes + misalign_elems * sizeof(T)), raw_(off_ + n * sizeof(T) + kGuardBytes + 64) {
    std::memset(raw_.data(), kSentinel, raw_.size());
  }
  T* data() { return reinterpret_cast<T*>(raw_.data() + off_); }
  size_t size() const { return n_; }
  T& operator[](size_t i) { return data()[i]; }
  // True when both guard bands still hold the sentinel.
  bool guards_intact() const {
    for (size_t i = 0; i < off_; ++i)
      if (raw_[i] != kSentinel) return false;
    for (size_t i = off_ + n_ * sizeof(T); i < raw_.size(); ++i)
      if (raw_[i] != kSentinel) return false;
    return true;
  }

 private:
  size_t n_, off_;
  alignas(64) std::vector<uint8_t> raw_;
};

template <typename T>
void fill_random(T* p, size_t n) {
  std::uniform_int_distribution<int64_t> d(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<T>(d(rng()));
}

}  // namespace sipmix::checksimd
