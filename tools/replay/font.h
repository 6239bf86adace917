// A tiny built-in 5x7 bitmap font (printable ASCII) for labels in the
// replay tool's pictures and demo video. Pure functions; the caller owns the
// images drawn into. Any thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "sipmix/picture.h"
#include "tools/replay/picture.h"

namespace sipmix::replay {

inline constexpr int kGlyphWidth = 5;
inline constexpr int kGlyphHeight = 7;
inline constexpr int kGlyphAdvance = 6;  // glyph + 1 column of spacing
inline constexpr int kLineAdvance = 9;

// Row bitmaps of `c` (7 rows, bit 4 = leftmost column). Characters outside
// printable ASCII give the '?' glyph.
const uint8_t* glyph_rows(char c);

// Size in pixels of `text` drawn at `scale` (single line; '\n' is not special).
int text_width(std::string_view text, int scale = 1);
inline int text_height(int scale = 1) { return kGlyphHeight * scale; }

// Draws `text` with its top-left corner at (x, y); each font pixel becomes a
// scale x scale block. Clipped to the image.
void draw_text(RgbImage& image, int x, int y, std::string_view text, Rgb colour, int scale = 1);

// Same into an I420 picture with a YUV colour (see rgb_to_yuv).
struct Yuv {
  uint8_t y = 16, u = 128, v = 128;
};
Yuv rgb_to_yuv(Rgb c);  // BT.601 limited range
void draw_text(const MutablePictureView& image, int x, int y, std::string_view text, Yuv colour,
               int scale = 1);

}  // namespace sipmix::replay
