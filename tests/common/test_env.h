// What the test environment asks for, and a portable random source.
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
// (unlike the <random> distributions). `state` must not be 0.
class XorShift64 {
 public:
  explicit XorShift64(uint64_t state) : s_(state) {}
  uint32_t next() {
    s_ ^= s_ << 13;
    s_ ^= s_ >> 7;
    s_ ^= s_ << 17;
    return static_cast<uint32_t>(s_ >> 16);
  }
  double uniform() { return next() / 4294967296.0; }  // [0, 1)
  bool chance(double p) { return uniform() < p; }

 private:
  uint64_t s_;
};

}  // namespace sipmix::testing
