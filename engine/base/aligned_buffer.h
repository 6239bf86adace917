// Fixed-size, cache-line aligned array, allocated once at construction.
// Used for audio frames, canvas planes and SIMD scratch. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace sipmix {

inline constexpr size_t kCacheLine = 64;
// Data written by different threads sits this far apart: x86 cores fetch
// 64-byte lines in 128-byte aligned pairs (the adjacent-line prefetcher), so
// two lines of one pair still contend.
inline constexpr size_t kFalseSharingRange = 128;

template <typename T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  // `padding` extra elements are allocated past size() so that a SIMD kernel
  // may read (never write) one vector beyond the end.
  explicit AlignedBuffer(size_t size, size_t padding = 64 / sizeof(T) + 1) { reset(size, padding); }
  ~AlignedBuffer() { std::free(data_); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    return *this;
  }

  // Reallocates and zero-fills. Configuration time only.
  void reset(size_t size, size_t padding = 64 / sizeof(T) + 1) {
    std::free(data_);
    size_t bytes = (size + padding) * sizeof(T);
    bytes = (bytes + kCacheLine - 1) / kCacheLine * kCacheLine;
    data_ = static_cast<T*>(std::aligned_alloc(kCacheLine, bytes == 0 ? kCacheLine : bytes));
    if (!data_) throw std::bad_alloc();
    std::memset(static_cast<void*>(data_), 0, bytes == 0 ? kCacheLine : bytes);
    size_ = size;
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace sipmix
