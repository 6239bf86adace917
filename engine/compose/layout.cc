#include "compose/layout.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string>

namespace sipmix::video {
namespace {

int floor_even(int v) { return v & ~1; }
// Nearest even integer to num / den (num, den > 0).
int round_even(int64_t num, int64_t den) { return static_cast<int>(((num + den) / (2 * den)) * 2); }

bool is_even_positive(int v) { return v > 0 && (v & 1) == 0; }

// Trims `src` (centred) so that it is exactly k times dst when that costs at
// most 1 % of the source in each direction.
void snap_exact_ratio(Placement& pl) {
  for (int k : {2, 3}) {
    const int want_w = k * pl.dst.w, want_h = k * pl.dst.h;
    if (want_w > pl.src.w || want_h > pl.src.h) continue;
    if ((pl.src.w - want_w) * 100 > pl.src.w || (pl.src.h - want_h) * 100 > pl.src.h) continue;
    // Centred to the pixel (x or y may be odd): a one-sided trim would shift
    // the picture by up to 2/3 of an output pixel at the far edge.
    pl.src.x += (pl.src.w - want_w) / 2;
    pl.src.y += (pl.src.h - want_h) / 2;
    pl.src.w = want_w;
    pl.src.h = want_h;
    return;
  }
}

}  // namespace

Rect intersect(const Rect& a, const Rect& b) {
  const int x0 = std::max(a.x, b.x), y0 = std::max(a.y, b.y);
  const int x1 = std::min(a.right(), b.right()), y1 = std::min(a.bottom(), b.bottom());
  if (x1 <= x0 || y1 <= y0) return {};
  return {x0, y0, x1 - x0, y1 - y0};
}

Status validate(const LayoutOptions& o) {
  if (!is_even_positive(o.canvas_width) || o.canvas_width > 7680)
    return invalid_argument("canvas_width must be even and in 2..7680");
  if (!is_even_positive(o.canvas_height) || o.canvas_height > 4320)
    return invalid_argument("canvas_height must be even and in 2..4320");
  if (o.gap_px < 0 || (o.gap_px & 1)) return invalid_argument("gap_px must be even and >= 0");
  if (o.highlight_px < 0 || (o.highlight_px & 1)) return invalid_argument("highlight_px must be even and >= 0");
  const int min_side = std::min(o.canvas_width, o.canvas_height);
  if (6 * o.gap_px >= min_side) return invalid_argument("gap_px leaves no room for a 3x3 grid");
  if (6 * o.highlight_px >= min_side / 3) return invalid_argument("highlight_px is too wide for a 3x3 cell");
  return {};
}

GridShape grid_for_count(int count) {
  if (count <= 0) return {0, 0};
  if (count == 1) return {1, 1};
  if (count == 2) return {2, 1};
  if (count <= 4) return {2, 2};
  if (count <= 6) return {3, 2};
  return {3, 3};
}

Rect grid_cell(const LayoutOptions& o, GridShape shape, int index) {
  if (shape.cells() == 0 || index < 0 || index >= shape.cells()) return {};
  const int w = floor_even((o.canvas_width - (shape.cols - 1) * o.gap_px) / shape.cols);
  const int h = floor_even((o.canvas_height - (shape.rows - 1) * o.gap_px) / shape.rows);
  const int x0 = floor_even((o.canvas_width - (shape.cols * w + (shape.cols - 1) * o.gap_px)) / 2);
  const int y0 = floor_even((o.canvas_height - (shape.rows * h + (shape.rows - 1) * o.gap_px)) / 2);
  const int r = index / shape.cols, c = index % shape.cols;
  return {x0 + c * (w + o.gap_px), y0 + r * (h + o.gap_px), w, h};
}

Placement place(const Rect& cell, int src_width, int src_height, FitMode mode, bool exact_ratio_trim) {
  Placement pl;
  if (cell.empty() || src_width <= 0 || src_height <= 0) return pl;
  const int64_t sw = src_width, sh = src_height, cw = cell.w, ch = cell.h;
  pl.src = {0, 0, src_width, src_height};
  if (mode == FitMode::kLetterbox) {
    int dw = cell.w, dh = cell.h;
    if (sw * ch > sh * cw) {
      dh = std::clamp(round_even(sh * cw, sw), 2, cell.h);  // wider than the cell: bars above and below
    } else {
      dw = std::clamp(round_even(sw * ch, sh), 2, cell.w);
    }
    pl.dst = {cell.x + floor_even((cell.w - dw) / 2), cell.y + floor_even((cell.h - dh) / 2), dw, dh};
  } else {
    pl.dst = cell;
    if (sw * ch > sh * cw) {
      const int w = std::clamp(round_even(sh * cw, ch), 1, src_width);
      pl.src = {floor_even((src_width - w) / 2), 0, w, src_height};
    } else {
      const int h = std::clamp(round_even(sw * ch, cw), 1, src_height);
      pl.src = {0, floor_even((src_height - h) / 2), src_width, h};
    }
  }
  if (exact_ratio_trim) snap_exact_ratio(pl);
  return pl;
}

bool LayoutManager::update(std::span<const StreamCandidate> candidates, std::optional<uint64_t> own_stream_id) {
  // Choose: recent active speakers first (most recent first), then join order.
  std::vector<const StreamCandidate*> order;
  order.reserve(candidates.size());
  for (const StreamCandidate& c : candidates)
    if (!own_stream_id || c.stream_id != *own_stream_id) order.push_back(&c);
  std::stable_sort(order.begin(), order.end(), [](const StreamCandidate* a, const StreamCandidate* b) {
    if (a->last_active_ms.has_value() != b->last_active_ms.has_value()) return a->last_active_ms.has_value();
    if (a->last_active_ms && *a->last_active_ms != *b->last_active_ms) return *a->last_active_ms > *b->last_active_ms;
    if (a->join_order != b->join_order) return a->join_order < b->join_order;
    return a->stream_id < b->stream_id;
  });
  if (order.size() > static_cast<size_t>(kMaxTiles)) order.resize(kMaxTiles);
  const int n = static_cast<int>(order.size());
  const GridShape shape = grid_for_count(n);

  std::array<int, kMaxTiles> cell_of{};  // per picked stream
  cell_of.fill(-1);
  std::array<bool, kMaxTiles> taken{};
  // Streams already shown, in their old cell order.
  for (const LayoutSlot& old : slots_) {
    for (int i = 0; i < n; ++i) {
      if (order[i]->stream_id != old.stream_id) continue;
      int idx = -1;
      if (shape == shape_) {
        idx = old.cell_index;
      } else {
        const int r = old.cell_index / shape_.cols, c = old.cell_index % shape_.cols;
        if (r < shape.rows && c < shape.cols) idx = r * shape.cols + c;
      }
      if (idx >= 0 && !taken[idx]) {
        cell_of[i] = idx;
        taken[idx] = true;
      }
    }
  }
  // Streams that must move (shape shrank), then newcomers, take free cells in
  // order; old streams go first so that they stay ahead of newcomers.
  auto place_free = [&](int i) {
    for (int idx = 0; idx < shape.cells(); ++idx) {
      if (!taken[idx]) {
        cell_of[i] = idx;
        taken[idx] = true;
        return;
      }
    }
  };
  for (const LayoutSlot& old : slots_)
    for (int i = 0; i < n; ++i)
      if (order[i]->stream_id == old.stream_id && cell_of[i] < 0) place_free(i);
  for (int i = 0; i < n; ++i)
    if (cell_of[i] < 0) place_free(i);

  std::optional<uint64_t> speaker;
  if (options_.highlight_active_speaker && n > 0 && order[0]->last_active_ms) speaker = order[0]->stream_id;

  std::vector<LayoutSlot> next;
  next.reserve(n);
  for (int i = 0; i < n; ++i)
    next.push_back({order[i]->stream_id, cell_of[i], grid_cell(options_, shape, cell_of[i]),
                    speaker && *speaker == order[i]->stream_id});
  std::sort(next.begin(), next.end(), [](const LayoutSlot& a, const LayoutSlot& b) { return a.cell_index < b.cell_index; });

  bool changed = !(shape == shape_) || next.size() != slots_.size();
  for (size_t i = 0; !changed && i < next.size(); ++i)
    changed = next[i].stream_id != slots_[i].stream_id || next[i].cell_index != slots_[i].cell_index ||
              next[i].highlight != slots_[i].highlight;
  shape_ = shape;
  slots_ = std::move(next);
  return changed;
}

}  // namespace sipmix::video
