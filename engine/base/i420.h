// 8-bit I420 picture types shared by decoders, the compositor and encoders.
// I420View borrows planes owned elsewhere; I420Buffer owns aligned planes,
// allocated once (configuration time). Neither is thread-safe.
#pragma once

#include <cstdint>
#include <cstring>

#include "base/aligned_buffer.h"

namespace sipmix::video {

struct I420View {
  const uint8_t* y = nullptr;
  const uint8_t* u = nullptr;
  const uint8_t* v = nullptr;
  int stride_y = 0;
  int stride_u = 0;
  int stride_v = 0;
  int width = 0;   // luma; chroma is (width + 1) / 2
  int height = 0;  // luma; chroma is (height + 1) / 2
  bool empty() const { return width <= 0 || height <= 0 || !y; }
};

struct I420MutableView {
  uint8_t* y = nullptr;
  uint8_t* u = nullptr;
  uint8_t* v = nullptr;
  int stride_y = 0;
  int stride_u = 0;
  int stride_v = 0;
  int width = 0;
  int height = 0;
  operator I420View() const { return {y, u, v, stride_y, stride_u, stride_v, width, height}; }
};

class I420Buffer {
 public:
  I420Buffer() = default;
  I420Buffer(int width, int height) { reset(width, height); }

  // (Re)allocates; strides are rounded up to 64 bytes. Configuration time only.
  void reset(int width, int height) {
    width_ = width;
    height_ = height;
    stride_y_ = (width + 63) & ~63;
    stride_uv_ = ((width + 1) / 2 + 63) & ~63;
    const int ch = (height + 1) / 2;
    y_.reset(static_cast<size_t>(stride_y_) * height);
    u_.reset(static_cast<size_t>(stride_uv_) * ch);
    v_.reset(static_cast<size_t>(stride_uv_) * ch);
  }
  void fill(uint8_t y, uint8_t u, uint8_t v) {
    std::memset(y_.data(), y, y_.size());
    std::memset(u_.data(), u, u_.size());
    std::memset(v_.data(), v, v_.size());
  }

  int width() const { return width_; }
  int height() const { return height_; }
  I420View view() const { return {y_.data(), u_.data(), v_.data(), stride_y_, stride_uv_, stride_uv_, width_, height_}; }
  I420MutableView mutable_view() {
    return {y_.data(), u_.data(), v_.data(), stride_y_, stride_uv_, stride_uv_, width_, height_};
  }

 private:
  int width_ = 0, height_ = 0, stride_y_ = 0, stride_uv_ = 0;
  AlignedBuffer<uint8_t> y_, u_, v_;
};

}  // namespace sipmix::video
