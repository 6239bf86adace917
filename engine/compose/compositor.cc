#include "compose/compositor.h"

#include <algorithm>
#include <cstring>

namespace sipmix::video {
namespace {

constexpr int kMaxPending = 256;

// a minus b as at most 4 disjoint rects.
int subtract(const Rect& a, const Rect& b, Rect* out) {
  const Rect i = intersect(a, b);
  if (i.empty()) {
    out[0] = a;
    return 1;
  }
  int n = 0;
  if (i.y > a.y) out[n++] = {a.x, a.y, a.w, i.y - a.y};
  if (i.bottom() < a.bottom()) out[n++] = {a.x, i.bottom(), a.w, a.bottom() - i.bottom()};
  if (i.x > a.x) out[n++] = {a.x, i.y, i.x - a.x, i.h};
  if (i.right() < a.right()) out[n++] = {i.right(), i.y, a.right() - i.right(), i.h};
  return n;
}

void fill_plane(uint8_t* base, int stride, const Rect& r, uint8_t value) {
  for (int y = r.y; y < r.bottom(); ++y) std::memset(base + static_cast<ptrdiff_t>(y) * stride + r.x, value, r.w);
}

Rect half(const Rect& r) { return {r.x / 2, r.y / 2, r.w / 2, r.h / 2}; }

}  // namespace

Status Compositor::configure(const CompositorConfig& config, const simd::ScaleDsp* dsp) {
  if (Status s = validate(config.layout); !s.ok()) return s;
  if (config.max_source_width < 2 || config.max_source_width > 16384)
    return invalid_argument("max_source_width must be in 2..16384");
  config_ = config;
  dsp_ = dsp ? dsp : &simd::scale_dsp();
  canvas_.reset(config.layout.canvas_width, config.layout.canvas_height);
  scale_storage_.reset(simd::scale_scratch_bytes(config.max_source_width));
  if (!scale_scratch_.init(scale_storage_.data(), scale_storage_.size(), config.max_source_width))
    return invalid_argument("max_source_width: no scaler scratch for this width");
  configured_ = true;
  invalidate();
  return {};
}

void Compositor::mark_changed(const Rect& r) {
  if (changed_reported_) {
    n_changed_ = 0;
    changed_reported_ = false;
  }
  if (r.empty()) return;
  const Rect whole{0, 0, canvas_.width(), canvas_.height()};
  if (n_changed_ == 1 && changed_[0] == whole) return;
  if (n_changed_ == kMaxChanged) {
    changed_[0] = whole;
    n_changed_ = 1;
    return;
  }
  changed_[static_cast<size_t>(n_changed_++)] = r;
}

void Compositor::invalidate() {
  const YuvColor bg = config_.layout.background;
  mark_changed({0, 0, canvas_.width(), canvas_.height()});
  canvas_.fill(bg.y, bg.u, bg.v);
  stats_.background_pixels += static_cast<uint64_t>(canvas_.width()) * canvas_.height();
  tiles_.fill(TileState{});
}

Compositor::TileState Compositor::state_for(const TileInput& in) const {
  TileState st;
  st.used = true;
  st.stream_id = in.stream_id;
  st.cell = in.cell;
  st.highlight = in.highlight && config_.layout.highlight_px > 0;
  st.placeholder = in.no_video || in.frame.empty();
  st.generation = in.generation;
  if (!st.placeholder) {
    st.src_width = in.frame.width;
    st.src_height = in.frame.height;
    st.placement = place(in.cell, in.frame.width, in.frame.height, config_.layout.fit, config_.layout.exact_ratio_trim);
  }
  return st;
}

int Compositor::painted_rects(const TileState& t, int border_px, Rect* out) {
  int n = 0;
  out[n++] = t.placeholder ? t.cell : t.placement.dst;
  if (t.highlight) {
    const Rect& c = t.cell;
    const int b = border_px;
    out[n++] = {c.x, c.y, c.w, b};
    out[n++] = {c.x, c.bottom() - b, c.w, b};
    out[n++] = {c.x, c.y + b, b, c.h - 2 * b};
    out[n++] = {c.right() - b, c.y + b, b, c.h - 2 * b};
  }
  return n;
}

void Compositor::fill(const Rect& r, YuvColor c) {
  if (r.empty()) return;
  mark_changed(r);
  I420MutableView cv = canvas_.mutable_view();
  fill_plane(cv.y, cv.stride_y, r, c.y);
  const Rect h = half(r);
  fill_plane(cv.u, cv.stride_u, h, c.u);
  fill_plane(cv.v, cv.stride_v, h, c.v);
}

Status Compositor::compose(std::span<const TileInput> tiles) {
  if (!configured_) return invalid_argument("compositor: configure() first");
  if (tiles.size() > static_cast<size_t>(kMaxTiles)) return invalid_argument("tiles: at most 9");
  if (changed_reported_) {  // nothing written since the last compose()
    n_changed_ = 0;
    changed_reported_ = false;
  }
  const Rect canvas_rect{0, 0, canvas_.width(), canvas_.height()};
  for (size_t i = 0; i < tiles.size(); ++i) {
    const TileInput& t = tiles[i];
    const Rect& c = t.cell;
    if (c.empty() || ((c.x | c.y | c.w | c.h) & 1) || !(intersect(c, canvas_rect) == c))
      return invalid_argument("tiles.cell must be even-aligned and inside the canvas");
    for (size_t j = 0; j < i; ++j)
      if (tiles[j].stream_id == t.stream_id) return invalid_argument("tiles.stream_id must be distinct");
    if (!t.frame.empty()) {
      const I420View& f = t.frame;
      if (f.width > config_.max_source_width) return invalid_argument("tiles.frame.width exceeds max_source_width");
      if (!f.u || !f.v || f.stride_y < f.width || f.stride_u < (f.width + 1) / 2 || f.stride_v < (f.width + 1) / 2)
        return invalid_argument("tiles.frame: missing plane or stride smaller than width");
    }
  }

  std::array<TileState, kMaxTiles> next{};
  std::array<bool, kMaxTiles> draw{};
  std::array<bool, kMaxTiles> old_kept{};  // old tile still on canvas, untouched
  for (size_t i = 0; i < tiles.size(); ++i) {
    next[i] = state_for(tiles[i]);
    const TileState& n = next[i];
    draw[i] = true;
    for (int j = 0; j < kMaxTiles; ++j) {
      const TileState& o = tiles_[j];
      if (!o.used || o.stream_id != n.stream_id) continue;
      const bool same_place = o.cell == n.cell && o.placeholder == n.placeholder && o.highlight == n.highlight &&
                              o.src_width == n.src_width && o.src_height == n.src_height;
      if (same_place) {
        old_kept[j] = true;
        draw[i] = !n.placeholder && o.generation != n.generation;
      }
      break;
    }
  }

  // Background only where an old tile was and no new tile will be.
  Rect pending[kMaxPending];
  int np = 0;
  bool overflow = false;
  const int border = config_.layout.highlight_px;
  for (int j = 0; j < kMaxTiles; ++j) {
    if (!tiles_[j].used || old_kept[j]) continue;
    np += painted_rects(tiles_[j], border, pending + np);
  }
  Rect scratch[kMaxPending];
  for (size_t i = 0; i < tiles.size() && np > 0 && !overflow; ++i) {
    Rect cover[5];
    const int nc = painted_rects(next[i], border, cover);
    for (int k = 0; k < nc && !overflow; ++k) {
      int ns = 0;
      for (int p = 0; p < np; ++p) {
        if (ns + 4 > kMaxPending) {
          overflow = true;
          break;
        }
        ns += subtract(pending[p], cover[k], scratch + ns);
      }
      std::copy(scratch, scratch + ns, pending);
      np = ns;
    }
  }
  if (overflow) {  // cannot happen with 9 tiles in a grid; stay correct anyway
    invalidate();
    np = 0;
    for (size_t i = 0; i < tiles.size(); ++i) draw[i] = true;
  }
  for (int p = 0; p < np; ++p) {
    fill(pending[p], config_.layout.background);
    stats_.background_pixels += static_cast<uint64_t>(pending[p].w) * pending[p].h;
  }

  for (size_t i = 0; i < tiles.size(); ++i) {
    if (draw[i]) {
      draw_tile(tiles[i], next[i]);
    } else {
      ++stats_.tiles_unchanged;
    }
  }
  tiles_ = next;
  changed_reported_ = true;
  return {};
}

void Compositor::draw_tile(const TileInput& in, const TileState& st) {
  if (st.placeholder) {
    draw_placeholder(st.cell);
    ++stats_.placeholders_drawn;
  } else {
    I420MutableView cv = canvas_.mutable_view();
    const Rect& s = st.placement.src;
    const Rect& d = st.placement.dst;
    const I420View& f = in.frame;
    mark_changed(d);
    // The scaler chooses the method per plane (simd/scale.h); sizes were
    // validated in compose(), and a refused (empty) plane draws nothing.
    auto scale = [this](const uint8_t* src, int src_stride, int sw, int sh, uint8_t* dst, int dst_stride, int dw,
                        int dh) {
      (void)simd::scale_plane(src, src_stride, sw, sh, dst, dst_stride, dw, dh, simd::ScaleFilter::kBox,
                              &scale_scratch_, *dsp_);
    };
    scale(f.y + static_cast<ptrdiff_t>(s.y) * f.stride_y + s.x, f.stride_y, s.w, s.h,
          cv.y + static_cast<ptrdiff_t>(d.y) * cv.stride_y + d.x, cv.stride_y, d.w, d.h);
    // Chroma crop: half the luma crop, rounded up like the plane; an odd
    // luma offset (centred exact-ratio trim) rounds down, keeping the ratio.
    const int cx = s.x / 2, cy = s.y / 2;
    const int cw = std::min((s.w + 1) / 2, (f.width + 1) / 2 - cx), ch = std::min((s.h + 1) / 2, (f.height + 1) / 2 - cy);
    const Rect dc = half(d);
    scale(f.u + static_cast<ptrdiff_t>(cy) * f.stride_u + cx, f.stride_u, cw, ch,
          cv.u + static_cast<ptrdiff_t>(dc.y) * cv.stride_u + dc.x, cv.stride_u, dc.w, dc.h);
    scale(f.v + static_cast<ptrdiff_t>(cy) * f.stride_v + cx, f.stride_v, cw, ch,
          cv.v + static_cast<ptrdiff_t>(dc.y) * cv.stride_v + dc.x, cv.stride_v, dc.w, dc.h);
    ++stats_.tiles_scaled;
  }
  if (st.highlight) draw_border(st.cell);
}

void Compositor::draw_border(const Rect& c) {
  const int b = config_.layout.highlight_px;
  fill({c.x, c.y, c.w, b}, config_.layout.highlight_color);
  fill({c.x, c.bottom() - b, c.w, b}, config_.layout.highlight_color);
  fill({c.x, c.y + b, b, c.h - 2 * b}, config_.layout.highlight_color);
  fill({c.right() - b, c.y + b, b, c.h - 2 * b}, config_.layout.highlight_color);
}

// Dark grey tile with a crossed-out camera: body, lens wedge and a slash.
void Compositor::draw_placeholder(const Rect& cell) {
  fill(cell, config_.no_video_color);
  I420MutableView cv = canvas_.mutable_view();
  const uint8_t ink = config_.no_video_icon.y;
  const int bw = std::max(2, cell.w / 5 & ~1), bh = std::max(2, cell.h / 5 & ~1);
  const int bx = cell.x + cell.w / 2 - bw * 3 / 5, by = cell.y + (cell.h - bh) / 2;
  fill_plane(cv.y, cv.stride_y, {bx, by, bw, bh}, ink);
  const int wedge = bw / 3;
  for (int c = 0; c < wedge; ++c) {  // lens: a wedge widening to the right
    const int half_h = bh / 4 + bh / 4 * c / std::max(1, wedge);
    const int x = bx + bw + 2 + c, mid = by + bh / 2;
    for (int y = mid - half_h; y < mid + half_h; ++y) cv.y[static_cast<ptrdiff_t>(y) * cv.stride_y + x] = ink;
  }
  const int span = std::min(bw + wedge, cell.h - 4);
  const int sx = bx - (span - bw - wedge) / 2, sy = cell.y + (cell.h - span) / 2;
  for (int k = 0; k < span; ++k) {  // slash, 3 pixels thick
    uint8_t* row = cv.y + static_cast<ptrdiff_t>(sy + k) * cv.stride_y;
    const int x = std::clamp(sx + k * (bw + wedge) / std::max(1, span), cell.x, cell.right() - 3);
    std::memset(row + x, 220, 3);
  }
}

}  // namespace sipmix::video
