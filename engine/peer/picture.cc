#include "sipmix/picture.h"

#include "base/i420.h"

namespace sipmix {

struct Picture::Planes {
  video::I420Buffer buffer;
};

Picture::Picture() : planes_(std::make_unique<Planes>()) {}
Picture::Picture(int width, int height) : Picture() { reset(width, height); }
Picture::~Picture() = default;
Picture::Picture(Picture&&) noexcept = default;
Picture& Picture::operator=(Picture&&) noexcept = default;

void Picture::reset(int width, int height) {
  if (!planes_) planes_ = std::make_unique<Planes>();
  planes_->buffer.reset(width, height);
}

void Picture::fill(uint8_t y, uint8_t u, uint8_t v) {
  if (planes_) planes_->buffer.fill(y, u, v);
}

int Picture::width() const { return planes_ ? planes_->buffer.width() : 0; }
int Picture::height() const { return planes_ ? planes_->buffer.height() : 0; }

PictureView Picture::view() const {
  if (!planes_) return {};
  const video::I420View v = planes_->buffer.view();
  return {v.y, v.u, v.v, v.stride_y, v.stride_u, v.stride_v, v.width, v.height};
}

MutablePictureView Picture::mutable_view() {
  if (!planes_) return {};
  const video::I420MutableView v = planes_->buffer.mutable_view();
  return {v.y, v.u, v.v, v.stride_y, v.stride_u, v.stride_v, v.width, v.height};
}

}  // namespace sipmix
