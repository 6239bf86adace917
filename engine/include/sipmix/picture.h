// 8-bit I420 pictures of the public API: PictureView borrows planes for the
// length of a call, MutablePictureView borrows them writable, and Picture
// owns them (allocated on creation and reset(), never in between). None is
// thread-safe; a picture is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>

namespace sipmix {

// An 8-bit I420 picture borrowed for the length of a call.
struct PictureView {
  const uint8_t* y = nullptr;
  const uint8_t* u = nullptr;
  const uint8_t* v = nullptr;
  int stride_y = 0, stride_u = 0, stride_v = 0;
  int width = 0, height = 0;  // luma; chroma planes are (width + 1) / 2 by (height + 1) / 2
  bool empty() const { return width <= 0 || height <= 0 || !y; }
};

// The same, writable: draw into it.
struct MutablePictureView {
  uint8_t* y = nullptr;
  uint8_t* u = nullptr;
  uint8_t* v = nullptr;
  int stride_y = 0, stride_u = 0, stride_v = 0;
  int width = 0, height = 0;
  operator PictureView() const { return {y, u, v, stride_y, stride_u, stride_v, width, height}; }
};

// An owned I420 picture. Rows are 64-byte aligned and strides rounded up to
// 64 bytes, as the engine's encoders and scalers like them.
class Picture {
 public:
  Picture();
  Picture(int width, int height);
  ~Picture();
  Picture(Picture&&) noexcept;
  Picture& operator=(Picture&&) noexcept;

  // (Re)allocates; the contents are then undefined.
  void reset(int width, int height);
  void fill(uint8_t y, uint8_t u, uint8_t v);

  int width() const;
  int height() const;
  PictureView view() const;
  MutablePictureView mutable_view();

 private:
  struct Planes;
  std::unique_ptr<Planes> planes_;
};

}  // namespace sipmix
