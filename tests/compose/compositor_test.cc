// Compositor: accuracy against an ffmpeg-built grid (scale + pad + xstack) on
// 9 distinct inputs of different sizes and aspects, tile positions, dirty-tile
// skipping, background repaint on layout change, "no video" and highlight.
#include "compose/compositor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <string>
#include <vector>

#include "tests/support/signal.h"
#include "simd/scale.h"

namespace sipmix::video {
namespace {

// A frame with its own colour and smooth pattern (recognisable, and smooth
// enough that two good scalers agree closely).
struct TestFrame {
  int w = 0, h = 0;
  std::vector<uint8_t> y, u, v;
  int cw() const { return (w + 1) / 2; }
  int ch() const { return (h + 1) / 2; }
  I420View view() const { return {y.data(), u.data(), v.data(), w, cw(), cw(), w, h}; }
};

TestFrame make_frame(int k, int w, int h) {
  TestFrame f;
  f.w = w;
  f.h = h;
  f.y.resize(static_cast<size_t>(w) * h);
  f.u.resize(static_cast<size_t>(f.cw()) * f.ch());
  f.v.resize(f.u.size());
  const double base_y = 50 + 17 * k, base_u = 128 + 40 * std::cos(k * 0.7), base_v = 128 + 40 * std::sin(k * 0.7);
  const double fx = 1 + k % 3, fy = 1 + (k / 3) % 3, two_pi = 2 * std::numbers::pi;
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c) {
      const double nx = (c + 0.5) / w, ny = (r + 0.5) / h;
      const double blob = std::exp(-((nx - 0.5) * (nx - 0.5) + (ny - 0.4) * (ny - 0.4)) * 30);
      // Low-frequency waves, a soft blob and finer stripes (10-18 cycles).
      const double val = base_y + 25 * std::sin(two_pi * (fx * nx + fy * ny)) + 40 * blob +
                         15 * std::sin(two_pi * (10 + 2 * k) * (k % 2 ? nx : ny));
      f.y[static_cast<size_t>(r) * w + c] = static_cast<uint8_t>(std::clamp(std::lround(val), 16L, 235L));
    }
  for (int r = 0; r < f.ch(); ++r)
    for (int c = 0; c < f.cw(); ++c) {
      const double nx = (c + 0.5) / f.cw(), ny = (r + 0.5) / f.ch();
      f.u[static_cast<size_t>(r) * f.cw() + c] = static_cast<uint8_t>(std::lround(base_u + 12 * (nx - 0.5)));
      f.v[static_cast<size_t>(r) * f.cw() + c] = static_cast<uint8_t>(std::lround(base_v + 12 * (ny - 0.5)));
    }
  return f;
}

double plane_mean(const uint8_t* p, int stride, const Rect& r) {
  double s = 0;
  for (int y = r.y; y < r.bottom(); ++y)
    for (int x = r.x; x < r.right(); ++x) s += p[static_cast<ptrdiff_t>(y) * stride + x];
  return s / (static_cast<double>(r.w) * r.h);
}

Rect half(const Rect& r) { return {r.x / 2, r.y / 2, r.w / 2, r.h / 2}; }

bool write_file(const std::filesystem::path& p, const TestFrame& f) {
  std::ofstream o(p, std::ios::binary);
  o.write(reinterpret_cast<const char*>(f.y.data()), static_cast<std::streamsize>(f.y.size()));
  o.write(reinterpret_cast<const char*>(f.u.data()), static_cast<std::streamsize>(f.u.size()));
  o.write(reinterpret_cast<const char*>(f.v.data()), static_cast<std::streamsize>(f.v.size()));
  return o.good();
}

bool have_ffmpeg() { return std::system("ffmpeg -hide_banner -version > /dev/null 2>&1") == 0; }

const struct { int w, h; } kSizes[9] = {{1280, 720}, {640, 360}, {640, 480},  {320, 240}, {1920, 1080},
                                        {480, 640},  {352, 288}, {720, 720}, {853, 481}};

struct Grid {
  std::vector<TestFrame> frames;
  LayoutManager layout;
  std::vector<TileInput> tiles;
};

Grid make_grid(int n, const LayoutOptions& opt = {}) {
  Grid g{{}, LayoutManager(opt), {}};
  std::vector<StreamCandidate> c;
  for (int k = 0; k < n; ++k) {
    g.frames.push_back(make_frame(k, kSizes[k % 9].w, kSizes[k % 9].h));
    c.push_back({static_cast<uint64_t>(100 + k), static_cast<uint64_t>(k), std::nullopt});
  }
  g.layout.update(c, std::nullopt);
  for (const LayoutSlot& s : g.layout.slots()) {
    const int k = static_cast<int>(s.stream_id - 100);
    g.tiles.push_back({s.stream_id, s.cell, g.frames[k].view(), 1, false, s.highlight});
  }
  return g;
}

TEST(Compositor, MatchesFfmpegGridPerTileAndTilesSitWhereLayoutSays) {
  if (!have_ffmpeg()) GTEST_SKIP() << "ffmpeg binary not found";
  Grid g = make_grid(9);
  Compositor comp;
  CompositorConfig cfg;
  ASSERT_TRUE(comp.configure(cfg).ok());
  ASSERT_TRUE(comp.compose(g.tiles).ok());
  const I420View cv = comp.canvas();

  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("sipmix_compositor_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string cmd = "ffmpeg -hide_banner -loglevel error -y";
  std::string graph, stack_inputs, positions;
  for (size_t i = 0; i < g.tiles.size(); ++i) {
    const TileInput& t = g.tiles[i];
    const TestFrame& f = g.frames[t.stream_id - 100];
    const std::filesystem::path in = dir / ("in" + std::to_string(i) + ".yuv");
    ASSERT_TRUE(write_file(in, f));
    cmd += " -f rawvideo -pix_fmt yuv420p -s " + std::to_string(f.w) + "x" + std::to_string(f.h) + " -i " + in.string();
    const Placement p = place(t.cell, f.w, f.h, FitMode::kLetterbox);
    // Same destination rectangle; ffmpeg scales the whole source (area filter).
    graph += std::string("[") + std::to_string(i) + ":v]scale=" + std::to_string(p.dst.w) + ":" + std::to_string(p.dst.h) +
             ":flags=area,pad=" + std::to_string(t.cell.w) + ":" + std::to_string(t.cell.h) + ":" +
             std::to_string(p.dst.x - t.cell.x) + ":" + std::to_string(p.dst.y - t.cell.y) + ":color=black[v" +
             std::to_string(i) + "];";
    stack_inputs += std::string("[v") + std::to_string(i) + "]";
    positions += std::string(i ? "|" : "") + std::to_string(t.cell.x) + "_" + std::to_string(t.cell.y);
  }
  graph += stack_inputs + "xstack=inputs=9:layout=" + positions + ":fill=black,pad=" + std::to_string(cv.width) + ":" +
           std::to_string(cv.height) + ":0:0:color=black[out]";
  const std::filesystem::path out = dir / "ref.yuv";
  cmd += " -filter_complex \"" + graph + "\" -map \"[out]\" -frames:v 1 -f rawvideo -pix_fmt yuv420p " + out.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;

  std::ifstream is(out, std::ios::binary);
  const size_t ysz = static_cast<size_t>(cv.width) * cv.height, csz = ysz / 4;
  std::vector<uint8_t> ref(ysz + 2 * csz);
  is.read(reinterpret_cast<char*>(ref.data()), static_cast<std::streamsize>(ref.size()));
  ASSERT_EQ(static_cast<size_t>(is.gcount()), ref.size());
  std::filesystem::remove_all(dir);
  const uint8_t* ry = ref.data();
  const uint8_t* ru = ry + ysz;
  const uint8_t* rv = ru + csz;
  const int rcs = cv.width / 2;

  for (size_t i = 0; i < g.tiles.size(); ++i) {
    const TileInput& t = g.tiles[i];
    const TestFrame& f = g.frames[t.stream_id - 100];
    SCOPED_TRACE("tile " + std::to_string(i) + " input " + std::to_string(f.w) + "x" + std::to_string(f.h));
    const Rect c = t.cell, hc = half(c);
    auto at = [](const uint8_t* p, int stride, const Rect& r) { return p + static_cast<ptrdiff_t>(r.y) * stride + r.x; };
    const double py = testing::psnr(at(cv.y, cv.stride_y, c), cv.stride_y, at(ry, cv.width, c), cv.width, c.w, c.h);
    const double pu = testing::psnr(at(cv.u, cv.stride_u, hc), cv.stride_u, at(ru, rcs, hc), rcs, hc.w, hc.h);
    const double pv = testing::psnr(at(cv.v, cv.stride_v, hc), cv.stride_v, at(rv, rcs, hc), rcs, hc.w, hc.h);
    std::printf("tile %zu %4dx%-4d -> psnr Y %.1f U %.1f V %.1f dB\n", i, f.w, f.h, py, pu, pv);
    EXPECT_GE(py, 35.0);
    EXPECT_GE(pu, 35.0);
    EXPECT_GE(pv, 35.0);

    // The image sits where the layout says: its mean colour is its input's,
    // and it is closer to its own input than to any other.
    const Placement p = place(c, f.w, f.h, FitMode::kLetterbox);
    const double my = plane_mean(cv.y, cv.stride_y, p.dst), mu = plane_mean(cv.u, cv.stride_u, half(p.dst)),
                 mv = plane_mean(cv.v, cv.stride_v, half(p.dst));
    auto dist = [&](const TestFrame& o) {
      const double oy = plane_mean(o.y.data(), o.w, {0, 0, o.w, o.h}), ou = plane_mean(o.u.data(), o.cw(), {0, 0, o.cw(), o.ch()}),
                   ov = plane_mean(o.v.data(), o.cw(), {0, 0, o.cw(), o.ch()});
      return std::abs(my - oy) + std::abs(mu - ou) + std::abs(mv - ov);
    };
    EXPECT_LT(dist(f), 3.0);
    for (const TestFrame& o : g.frames)
      if (&o != &f) {
        EXPECT_GT(dist(o), 3 * dist(f) + 3.0);
      }
    // Letterbox bars are background.
    if (p.dst.w < c.w) {
      EXPECT_EQ(cv.y[static_cast<ptrdiff_t>(c.y + c.h / 2) * cv.stride_y + c.x], cfg.layout.background.y);
    }
    if (p.dst.h < c.h) {
      EXPECT_EQ(cv.y[static_cast<ptrdiff_t>(c.y) * cv.stride_y + c.x + c.w / 2], cfg.layout.background.y);
    }
  }
}

// Exact area average of the `src` rect of `f` into a dw x dh luma image.
std::vector<double> area_reference(const TestFrame& f, const Rect& src, int dw, int dh) {
  std::vector<double> out(static_cast<size_t>(dw) * dh);
  const double sx = static_cast<double>(src.w) / dw, sy = static_cast<double>(src.h) / dh;
  for (int j = 0; j < dh; ++j)
    for (int i = 0; i < dw; ++i) {
      double acc = 0;
      const double x0 = src.x + i * sx, x1 = x0 + sx, y0 = src.y + j * sy, y1 = y0 + sy;
      for (int r = static_cast<int>(y0); r < std::min(f.h, static_cast<int>(std::ceil(y1))); ++r) {
        const double wy = std::min(y1, r + 1.0) - std::max(y0, static_cast<double>(r));
        for (int c = static_cast<int>(x0); c < std::min(f.w, static_cast<int>(std::ceil(x1))); ++c) {
          const double wx = std::min(x1, c + 1.0) - std::max(x0, static_cast<double>(c));
          acc += wx * wy * f.y[static_cast<size_t>(r) * f.w + c];
        }
      }
      out[static_cast<size_t>(j) * dw + i] = acc / (sx * sy);
    }
  return out;
}

TEST(Compositor, DownscalesAreCloseToExactAreaAverage) {
  Grid g = make_grid(9);
  Compositor comp;
  ASSERT_TRUE(comp.configure({}).ok());
  ASSERT_TRUE(comp.compose(g.tiles).ok());
  const I420View cv = comp.canvas();
  for (const TileInput& t : g.tiles) {
    const TestFrame& f = g.frames[t.stream_id - 100];
    const Placement p = place(t.cell, f.w, f.h, FitMode::kLetterbox);
    if (f.w < 2 * p.dst.w) continue;  // area filter tiles only
    SCOPED_TRACE(std::to_string(f.w) + "x" + std::to_string(f.h));
    auto psnr_vs = [&](const std::vector<double>& ref) {
      double se = 0;
      for (int y = 0; y < p.dst.h; ++y)
        for (int x = 0; x < p.dst.w; ++x) {
          const double d = cv.y[static_cast<ptrdiff_t>(p.dst.y + y) * cv.stride_y + p.dst.x + x] -
                           ref[static_cast<size_t>(y) * p.dst.w + x];
          se += d * d;
        }
      return 10 * std::log10(255.0 * 255.0 / std::max(1e-9, se / (p.dst.w * p.dst.h)));
    };
    // The kernels: an exact area average of the rect the layout chose.
    EXPECT_GE(psnr_vs(area_reference(f, p.src, p.dst.w, p.dst.h)), 50.0);
    // Including the layout's <= 1 % trim for an exact 2:1 / 3:1 ratio.
    EXPECT_GE(psnr_vs(area_reference(f, {0, 0, f.w, f.h}, p.dst.w, p.dst.h)), 40.0);
  }
}

// 1280x720 into a 426x240 cell (3.0047:1 across, 3:1 down): by default the
// whole source is shown (no trim) and the tile is its area average; with the
// trim option the exact 3x3 box still applies.
TEST(Compositor, Near3To1TileIsAreaAverageOfWholeSource) {
  const TestFrame f = make_frame(4, 1280, 720);
  for (bool trim : {false, true}) {
    SCOPED_TRACE(trim ? "trim" : "no trim");
    CompositorConfig cfg;
    cfg.layout.exact_ratio_trim = trim;
    Compositor comp;
    ASSERT_TRUE(comp.configure(cfg).ok());
    const Rect cell = grid_cell(cfg.layout, grid_for_count(9), 4);
    const TileInput t{7, cell, f.view(), 1, false, false};
    ASSERT_TRUE(comp.compose(std::span<const TileInput>(&t, 1)).ok());
    const Placement p = place(cell, f.w, f.h, FitMode::kLetterbox, trim);
    if (!trim) {
      EXPECT_EQ(p.src, (Rect{0, 0, 1280, 720}));
    }
    EXPECT_EQ(p.dst.w, 426);
    EXPECT_EQ(p.dst.h, 240);
    const std::vector<double> ref = area_reference(f, {0, 0, f.w, f.h}, p.dst.w, p.dst.h);
    const I420View cv = comp.canvas();
    double se = 0, worst = 0;
    for (int y = 0; y < p.dst.h; ++y)
      for (int x = 0; x < p.dst.w; ++x) {
        const double d = cv.y[static_cast<ptrdiff_t>(p.dst.y + y) * cv.stride_y + p.dst.x + x] -
                         ref[static_cast<size_t>(y) * p.dst.w + x];
        se += d * d;
        worst = std::max(worst, std::abs(d));
      }
    const double psnr = 10 * std::log10(255.0 * 255.0 / std::max(1e-9, se / (p.dst.w * p.dst.h)));
    EXPECT_GE(psnr, trim ? 30.0 : 50.0);
    if (!trim) {
      EXPECT_LE(worst, 2.5);
    }
  }
}

TEST(Compositor, EveryIsaLevelGivesTheSameCanvas) {
  Grid g = make_grid(9);
  simd::ScaleDsp c_dsp;
  simd::scale_dsp_init(&c_dsp, 0);
  Compositor a, b;
  ASSERT_TRUE(a.configure({}, &c_dsp).ok());
  ASSERT_TRUE(b.configure({}).ok());
  ASSERT_TRUE(a.compose(g.tiles).ok());
  ASSERT_TRUE(b.compose(g.tiles).ok());
  const I420View x = a.canvas(), y = b.canvas();
  for (int r = 0; r < x.height; ++r)
    ASSERT_EQ(0, std::memcmp(x.y + static_cast<ptrdiff_t>(r) * x.stride_y, y.y + static_cast<ptrdiff_t>(r) * y.stride_y, x.width)) << r;
  for (int r = 0; r < x.height / 2; ++r) {
    ASSERT_EQ(0, std::memcmp(x.u + static_cast<ptrdiff_t>(r) * x.stride_u, y.u + static_cast<ptrdiff_t>(r) * y.stride_u, x.width / 2));
    ASSERT_EQ(0, std::memcmp(x.v + static_cast<ptrdiff_t>(r) * x.stride_v, y.v + static_cast<ptrdiff_t>(r) * y.stride_v, x.width / 2));
  }
}

uint8_t& luma(Compositor& c, int x, int y) {
  const I420View v = c.canvas();
  return const_cast<uint8_t*>(v.y)[static_cast<ptrdiff_t>(y) * v.stride_y + x];
}

TEST(Compositor, UnchangedTileIsNotRewritten) {
  Grid g = make_grid(9);
  Compositor comp;
  ASSERT_TRUE(comp.configure({}).ok());
  ASSERT_TRUE(comp.compose(g.tiles).ok());
  EXPECT_EQ(comp.stats().tiles_scaled, 9u);
  // Canaries in the middle of tiles 2 and 5.
  const Rect a = g.tiles[2].cell, b = g.tiles[5].cell;
  const uint8_t orig_a = luma(comp, a.x + a.w / 2, a.y + a.h / 2);
  luma(comp, a.x + a.w / 2, a.y + a.h / 2) = 1;
  luma(comp, b.x + b.w / 2, b.y + b.h / 2) = 2;
  ASSERT_TRUE(comp.compose(g.tiles).ok());
  EXPECT_EQ(luma(comp, a.x + a.w / 2, a.y + a.h / 2), 1);
  EXPECT_EQ(luma(comp, b.x + b.w / 2, b.y + b.h / 2), 2);
  EXPECT_EQ(comp.stats().tiles_scaled, 9u);
  EXPECT_EQ(comp.stats().tiles_unchanged, 9u);
  // A new frame for tile 2 only: it is rescaled, tile 5 is not touched.
  g.tiles[2].generation = 2;
  ASSERT_TRUE(comp.compose(g.tiles).ok());
  EXPECT_EQ(luma(comp, a.x + a.w / 2, a.y + a.h / 2), orig_a);
  EXPECT_EQ(luma(comp, b.x + b.w / 2, b.y + b.h / 2), 2);
  EXPECT_EQ(comp.stats().tiles_scaled, 10u);
}

// The encoder skips a frame when changed_rects() is empty, so it must cover
// every pixel that changed and be empty only when none did.
TEST(Compositor, ChangedRectsCoverWhatWasRedrawnAndNothingWhenStill) {
  Grid g = make_grid(9);
  Compositor comp;
  ASSERT_TRUE(comp.configure({}).ok());
  ASSERT_TRUE(comp.compose(g.tiles).ok());
  ASSERT_FALSE(comp.changed_rects().empty());  // the first canvas: all of it
  std::vector<uint8_t> before(comp.canvas().y, comp.canvas().y + comp.canvas().stride_y * comp.canvas().height);
  ASSERT_TRUE(comp.compose(g.tiles).ok());
  EXPECT_TRUE(comp.changed_rects().empty());
  ASSERT_TRUE(comp.compose(g.tiles).ok());
  EXPECT_TRUE(comp.changed_rects().empty());
  // A new picture for tile 4 (another source): only its area is reported.
  const int stride = comp.canvas().stride_y;
  g.tiles[4].frame = g.frames[0].view();
  g.tiles[4].generation = 7;
  ASSERT_TRUE(comp.compose(g.tiles).ok());
  const auto rects = comp.changed_rects();
  ASSERT_FALSE(rects.empty());
  for (const Rect& r : rects) EXPECT_EQ(intersect(r, g.tiles[4].cell), r) << "outside tile 4's cell";
  const I420View cv = comp.canvas();
  int outside = 0;
  for (int y = 0; y < cv.height; ++y)
    for (int x = 0; x < cv.width; ++x) {
      if (cv.y[y * stride + x] == before[static_cast<size_t>(y) * stride + x]) continue;
      bool covered = false;
      for (const Rect& r : rects) covered = covered || (x >= r.x && x < r.right() && y >= r.y && y < r.bottom());
      outside += !covered;
    }
  EXPECT_EQ(outside, 0) << "pixels changed outside changed_rects()";
  // invalidate() repaints the whole canvas: the next compose reports all of it.
  comp.invalidate();
  ASSERT_TRUE(comp.compose(g.tiles).ok());
  int64_t area = 0;
  for (const Rect& r : comp.changed_rects()) area += int64_t{r.w} * r.h;
  EXPECT_GE(area, int64_t{cv.width} * cv.height);
}

TEST(Compositor, LayoutChangeRepaintsOnlyUncoveredArea) {
  Grid g = make_grid(4);
  Compositor comp;
  CompositorConfig cfg;
  ASSERT_TRUE(comp.configure(cfg).ok());
  ASSERT_TRUE(comp.compose(g.tiles).ok());
  const uint64_t bg0 = comp.stats().background_pixels;
  // Stream in cell 1 leaves: 3 streams, still 2x2, the others keep cells.
  std::vector<StreamCandidate> c;
  for (int k : {0, 2, 3}) c.push_back({static_cast<uint64_t>(100 + k), static_cast<uint64_t>(k), std::nullopt});
  ASSERT_TRUE(g.layout.update(c, std::nullopt));
  std::vector<TileInput> tiles;
  for (const LayoutSlot& s : g.layout.slots()) tiles.push_back({s.stream_id, s.cell, g.frames[s.stream_id - 100].view(), 1});
  const Rect keep = tiles[0].cell;
  luma(comp, keep.x + keep.w / 2, keep.y + keep.h / 2) = 3;  // canary in a kept tile
  ASSERT_TRUE(comp.compose(tiles).ok());
  EXPECT_EQ(luma(comp, keep.x + keep.w / 2, keep.y + keep.h / 2), 3);
  EXPECT_EQ(comp.stats().tiles_scaled, 4u);
  // Exactly the leaver's image area went back to background.
  const Placement gone = place(g.tiles[1].cell, g.frames[1].w, g.frames[1].h, FitMode::kLetterbox);
  EXPECT_EQ(comp.stats().background_pixels - bg0, static_cast<uint64_t>(gone.dst.w) * gone.dst.h);
  const I420View cv = comp.canvas();
  EXPECT_DOUBLE_EQ(plane_mean(cv.y, cv.stride_y, g.tiles[1].cell), cfg.layout.background.y);
  EXPECT_DOUBLE_EQ(plane_mean(cv.u, cv.stride_u, half(g.tiles[1].cell)), cfg.layout.background.u);
}

TEST(Compositor, NoVideoTileThenFrameAgain) {
  Grid g = make_grid(2);
  Compositor comp;
  CompositorConfig cfg;
  ASSERT_TRUE(comp.configure(cfg).ok());
  g.tiles[1].no_video = true;
  ASSERT_TRUE(comp.compose(g.tiles).ok());
  const I420View cv = comp.canvas();
  const Rect c = g.tiles[1].cell;
  // Dark grey with a lighter icon, neutral chroma; not the background.
  const double m = plane_mean(cv.y, cv.stride_y, c);
  EXPECT_GT(m, cfg.no_video_color.y);
  EXPECT_LT(m, cfg.no_video_color.y + 20);
  EXPECT_EQ(cv.y[static_cast<ptrdiff_t>(c.y + 2) * cv.stride_y + c.x + 2], cfg.no_video_color.y);
  EXPECT_DOUBLE_EQ(plane_mean(cv.u, cv.stride_u, half(c)), 128.0);
  EXPECT_EQ(comp.stats().placeholders_drawn, 1u);
  // Holding "no video" costs nothing more.
  ASSERT_TRUE(comp.compose(g.tiles).ok());
  EXPECT_EQ(comp.stats().placeholders_drawn, 1u);
  // Video back: the frame is shown, the placeholder's bars are background.
  g.tiles[1].no_video = false;
  ASSERT_TRUE(comp.compose(g.tiles).ok());
  const TestFrame& f = g.frames[g.tiles[1].stream_id - 100];
  const Placement p = place(c, f.w, f.h, FitMode::kLetterbox);
  EXPECT_NEAR(plane_mean(cv.y, cv.stride_y, p.dst), plane_mean(f.y.data(), f.w, {0, 0, f.w, f.h}), 2.0);
  if (p.dst.h < c.h) {
    EXPECT_EQ(cv.y[static_cast<ptrdiff_t>(c.y) * cv.stride_y + c.x + c.w / 2], cfg.layout.background.y);
  }
}

TEST(Compositor, HighlightBorderFollowsTheSpeaker) {
  CompositorConfig cfg;
  cfg.layout.highlight_active_speaker = true;
  Grid g = make_grid(4, cfg.layout);
  Compositor comp;
  ASSERT_TRUE(comp.configure(cfg).ok());
  g.tiles[0].highlight = true;
  ASSERT_TRUE(comp.compose(g.tiles).ok());
  const I420View cv = comp.canvas();
  const Rect a = g.tiles[0].cell, b = g.tiles[3].cell;
  EXPECT_EQ(cv.y[static_cast<ptrdiff_t>(a.y + 1) * cv.stride_y + a.x + a.w / 2], cfg.layout.highlight_color.y);
  EXPECT_NE(cv.y[static_cast<ptrdiff_t>(b.y + 1) * cv.stride_y + b.x + b.w / 2], cfg.layout.highlight_color.y);
  g.tiles[0].highlight = false;
  g.tiles[3].highlight = true;
  ASSERT_TRUE(comp.compose(g.tiles).ok());
  EXPECT_NE(cv.y[static_cast<ptrdiff_t>(a.y + 1) * cv.stride_y + a.x + a.w / 2], cfg.layout.highlight_color.y);
  EXPECT_EQ(cv.y[static_cast<ptrdiff_t>(b.y + 1) * cv.stride_y + b.x + b.w / 2], cfg.layout.highlight_color.y);
}

TEST(Compositor, RejectsBadInput) {
  Compositor comp;
  Grid g = make_grid(2);
  EXPECT_FALSE(comp.compose(g.tiles).ok());  // not configured
  ASSERT_TRUE(comp.configure({}).ok());
  std::vector<TileInput> t = g.tiles;
  t[0].cell.x = 1;
  EXPECT_FALSE(comp.compose(t).ok());
  t = g.tiles;
  t[1].stream_id = t[0].stream_id;
  EXPECT_FALSE(comp.compose(t).ok());
  t = g.tiles;
  t[0].cell.w = 4000;
  EXPECT_FALSE(comp.compose(t).ok());
  CompositorConfig bad;
  bad.layout.canvas_width = 0;
  EXPECT_FALSE(comp.configure(bad).ok());
}

}  // namespace
}  // namespace sipmix::video
