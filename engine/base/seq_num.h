// Wrap-aware RTP sequence-number and timestamp arithmetic (RFC 3550 §A.1).
// Pure functions plus small unwrappers; each unwrapper has one owner thread.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

namespace sipmix {

// True when `a` comes after `b` in modular order: the forward distance from
// b to a is less than half the number space. Exactly half apart is resolved
// toward the larger raw value so that the relation stays antisymmetric.
template <typename U>
constexpr bool is_newer(U a, U b) {
  static_assert(std::is_unsigned_v<U>);
  constexpr U kHalf = static_cast<U>(std::numeric_limits<U>::max() / 2 + 1);
  const U forward = static_cast<U>(a - b);
  if (forward == kHalf) return a > b;
  return forward != 0 && forward < kHalf;
}
constexpr bool is_newer_seq(uint16_t a, uint16_t b) { return is_newer<uint16_t>(a, b); }
constexpr bool is_newer_timestamp(uint32_t a, uint32_t b) { return is_newer<uint32_t>(a, b); }

// Signed forward distance from b to a, in (-half, half].
template <typename U>
constexpr int64_t wrap_diff(U a, U b) {
  using S = std::make_signed_t<U>;
  return static_cast<S>(static_cast<U>(a - b));
}

// Extends a wrapping counter (uint16 sequence numbers, uint32 timestamps) to
// int64. Each value is placed at the unwrapped position nearest to the last
// one, so old (reordered) values unwrap backwards across a wrap correctly.
template <typename U>
class Unwrapper {
 public:
  int64_t unwrap(U value) {
    if (!has_last_) {
      has_last_ = true;
      last_ = value;
      return last_;
    }
    last_ += wrap_diff<U>(value, static_cast<U>(last_));
    return last_;
  }
  // Like unwrap() but does not move the reference point.
  int64_t peek(U value) const {
    if (!has_last_) return value;
    return last_ + wrap_diff<U>(value, static_cast<U>(last_));
  }
  void reset() { has_last_ = false; last_ = 0; }
  bool has_last() const { return has_last_; }
  int64_t last() const { return last_; }

 private:
  int64_t last_ = 0;
  bool has_last_ = false;
};

using SeqUnwrapper = Unwrapper<uint16_t>;
using TimestampUnwrapper = Unwrapper<uint32_t>;

}  // namespace sipmix
