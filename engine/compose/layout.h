// Grid layout of up to 9 video tiles on a SIP leg's canvas: grid by count,
// even-aligned cells, letterbox/crop placement, and a LayoutManager that picks
// the streams (never the leg's own) and keeps each one in its cell as others
// come and go. Called on the session's video tick thread only; not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "sipmix/status.h"

namespace sipmix::video {

inline constexpr int kMaxTiles = 9;

struct Rect {
  int x = 0, y = 0, w = 0, h = 0;
  bool empty() const { return w <= 0 || h <= 0; }
  int right() const { return x + w; }
  int bottom() const { return y + h; }
  friend bool operator==(const Rect&, const Rect&) = default;
};

// Intersection (empty Rect when disjoint).
Rect intersect(const Rect& a, const Rect& b);

struct YuvColor {
  uint8_t y = 16, u = 128, v = 128;  // limited-range black
  friend bool operator==(const YuvColor&, const YuvColor&) = default;
};

enum class FitMode {
  kLetterbox,  // whole source visible, bars in the background colour
  kCrop,       // tile filled, source cropped to the tile's aspect ratio
};

struct LayoutOptions {
  int canvas_width = 1280;   // even
  int canvas_height = 720;   // even
  int gap_px = 0;            // between cells and at no outer edge; even
  YuvColor background{};
  FitMode fit = FitMode::kLetterbox;
  bool highlight_active_speaker = false;
  int highlight_px = 4;                    // border width inside the cell; even
  YuvColor highlight_color{210, 16, 146};  // yellow
  // Trim at most 1 % of a source so that its scale is exactly 1/2 or 1/3.
  // Off by default: the kernels now handle the near-3:1 case (1280 -> 426)
  // exactly and as fast, and the trim shifts the picture by up to 1/3 pixel.
  bool exact_ratio_trim = false;
};

// Checks the options (positive even sizes, gap and border fit). Names the field.
Status validate(const LayoutOptions& options);

struct GridShape {
  int cols = 0, rows = 0;
  int cells() const { return cols * rows; }
  friend bool operator==(const GridShape&, const GridShape&) = default;
};

// 0 -> 0x0, 1 -> 1x1, 2 -> 2x1, 3-4 -> 2x2, 5-6 -> 3x2, 7-9 (and more) -> 3x3.
GridShape grid_for_count(int count);

// Cell `index` (row-major) of `shape` on the canvas: even x, y, w, h; cells
// are separated by gap_px and the grid is centred.
Rect grid_cell(const LayoutOptions& options, GridShape shape, int index);

// Where a source of src_width x src_height goes inside `cell`.
struct Placement {
  Rect dst;  // canvas coordinates, inside the cell, even-aligned
  Rect src;  // crop rectangle in source coordinates; x and y even, except
             // that an exact-ratio trim (below) is centred to the pixel
};
// Letterbox: the largest even rect of the source aspect centred in the cell.
// Crop: the whole cell, with the source cropped (centred) to its aspect.
// With exact_ratio_trim, when the scale is within 1 % of exactly 1/2 or 1/3,
// the source is trimmed by at most 1 % so that the ratio is exact and the box
// fast path applies.
Placement place(const Rect& cell, int src_width, int src_height, FitMode mode, bool exact_ratio_trim = false);

// One candidate stream for a leg's grid.
struct StreamCandidate {
  uint64_t stream_id = 0;
  uint64_t join_order = 0;                  // smaller joined earlier
  std::optional<int64_t> last_active_ms;    // last time it was the active speaker
};

struct LayoutSlot {
  uint64_t stream_id = 0;
  int cell_index = 0;  // row-major in `shape`
  Rect cell;
  bool highlight = false;  // the current active speaker, when highlighting is on
};

// Picks at most 9 streams and gives each a cell. Stability: while the grid
// shape stays the same every stream keeps its cell and a newcomer takes a
// free cell (a leaver's cell first); when the shape changes, a stream keeps
// its (row, column) when that still exists.
class LayoutManager {
 public:
  explicit LayoutManager(const LayoutOptions& options = {}) : options_(options) {}

  // Recomputes the layout from every stream in the session. The stream
  // `own_stream_id` (the leg's own video) is never placed. Returns true when
  // the slots (streams, cells or highlight) changed.
  bool update(std::span<const StreamCandidate> candidates, std::optional<uint64_t> own_stream_id);

  GridShape shape() const { return shape_; }
  // Sorted by cell index.
  const std::vector<LayoutSlot>& slots() const { return slots_; }
  const LayoutOptions& options() const { return options_; }

 private:
  LayoutOptions options_;
  GridShape shape_{};
  std::vector<LayoutSlot> slots_;
};

}  // namespace sipmix::video
