// Grid compositor for a SIP leg: scales each tile's latest I420 frame straight
// into the canvas planes it owns (no temporary frame, no second copy), only
// for tiles whose frame or place changed, and repaints background only where a
// layout change uncovers canvas. Called on the session's video tick thread
// only; not thread-safe. Frames are borrowed for the duration of compose().
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "base/aligned_buffer.h"
#include "simd/scale.h"
#include "sipmix/status.h"
#include "base/i420.h"
#include "compose/layout.h"

namespace sipmix::video {

struct CompositorConfig {
  LayoutOptions layout;          // canvas size, background, fit mode, highlight colour
  int max_source_width = 4096;   // row scratch is sized for this at configure()
  YuvColor no_video_color{48, 128, 128};  // dark grey "no video" tile
  YuvColor no_video_icon{120, 128, 128};  // its camera icon
};

// One tile for compose(); cells normally come from LayoutManager::slots().
struct TileInput {
  uint64_t stream_id = 0;
  Rect cell;                 // even-aligned, inside the canvas
  I420View frame;            // the stream's latest frame; empty = none yet
  uint64_t generation = 0;   // must change whenever the frame's pixels change
  bool no_video = false;     // no frame for too long: draw the "no video" tile
  bool highlight = false;    // active-speaker border inside the cell
};

class Compositor {
 public:
  struct Stats {
    uint64_t tiles_scaled = 0;       // frames scaled into the canvas
    uint64_t tiles_unchanged = 0;    // tiles skipped: same frame, same place
    uint64_t placeholders_drawn = 0; // "no video" tiles drawn
    uint64_t background_pixels = 0;  // luma pixels repainted with background
  };

  Compositor() = default;
  Compositor(const Compositor&) = delete;
  Compositor& operator=(const Compositor&) = delete;

  // Allocates the canvas and scratch rows and paints the background.
  // Configuration time only. `dsp` defaults to the process-wide table.
  Status configure(const CompositorConfig& config, const simd::ScaleDsp* dsp = nullptr);

  // Updates the canvas for this tick's tiles (at most 9, distinct stream ids,
  // non-overlapping cells). No allocation.
  Status compose(std::span<const TileInput> tiles);

  // Forgets what is on the canvas: the next compose() repaints everything.
  void invalidate();

  I420View canvas() const { return canvas_.view(); }
  const Stats& stats() const { return stats_; }

  // The canvas areas the last compose() (and any invalidate() before it)
  // wrote: empty when the canvas is the same as after the compose() before.
  // The encoder uses it to skip unchanged frames and, for VP8, as its map of
  // active macroblocks. May be coarser than what changed, never finer.
  std::span<const Rect> changed_rects() const { return {changed_.data(), static_cast<size_t>(n_changed_)}; }

 private:
  struct TileState {
    bool used = false;
    uint64_t stream_id = 0;
    Rect cell;
    bool placeholder = false;  // drew the "no video" tile
    bool highlight = false;
    Placement placement;       // valid when !placeholder
    int src_width = 0, src_height = 0;
    uint64_t generation = 0;
  };

  // Rects of the canvas a tile covers (image or placeholder, plus border).
  static int painted_rects(const TileState& t, int border_px, Rect* out);
  TileState state_for(const TileInput& in) const;
  void fill(const Rect& r, YuvColor c);
  void draw_tile(const TileInput& in, const TileState& st);
  void draw_placeholder(const Rect& cell);
  void draw_border(const Rect& cell);
  void mark_changed(const Rect& r);

  static constexpr int kMaxChanged = 64;  // beyond: one rect, the whole canvas

  CompositorConfig config_;
  const simd::ScaleDsp* dsp_ = nullptr;
  I420Buffer canvas_;
  AlignedBuffer<uint8_t> scale_storage_;  // scale_scratch_'s rows and plans
  simd::ScaleScratch scale_scratch_;
  std::array<TileState, kMaxTiles> tiles_{};
  bool configured_ = false;
  std::array<Rect, kMaxChanged> changed_{};
  int n_changed_ = 0;
  bool changed_reported_ = false;  // changed_ is the last compose()'s; the next one starts afresh
  Stats stats_;
};

}  // namespace sipmix::video
