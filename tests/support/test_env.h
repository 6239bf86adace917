// What the test environment asks for (ci_scale) and the one seeded random
// source of the tests, fuzz targets and benchmarks. Header-only, no GoogleTest:
// a test prints the seed on failure with SCOPED_TRACE(rng.seed_text()).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>

namespace sipmix::testing {

// Under sanitizers and in CI (SIPMIX_SCALE=ci) the long tests do less work.
inline bool ci_scale() {
  const char* s = std::getenv("SIPMIX_SCALE");
  return s != nullptr && std::string(s) == "ci";
}

// xorshift64: the same sequence on every platform and standard library
// (unlike the <random> distributions). `seed` must not be 0.
class XorShift64 {
 public:
  explicit XorShift64(uint64_t seed) : seed_(seed), s_(seed) {}
  uint32_t next() {
    s_ ^= s_ << 13;
    s_ ^= s_ >> 7;
    s_ ^= s_ << 17;
    return static_cast<uint32_t>(s_ >> 16);
  }
  double uniform() { return next() / 4294967296.0; }  // [0, 1)
  bool chance(double p) { return uniform() < p; }

  uint64_t seed() const { return seed_; }
  // "xorshift64 seed 0x...", for SCOPED_TRACE, so that a failure names it.
  std::string seed_text() const {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (uint64_t v = seed_; v != 0 || hex.empty(); v >>= 4) hex.insert(hex.begin(), kHex[v & 15]);
    return "xorshift64 seed 0x" + hex;
  }

 private:
  uint64_t seed_;
  uint64_t s_;
};

}  // namespace sipmix::testing
