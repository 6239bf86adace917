// 3x3 grid composition on a 1280x720 canvas from 9 distinct I420 inputs,
// letterbox, one thread, every tile re-scaled every iteration. Baselines write
// straight into the same canvas rectangles: libyuv I420Scale (bilinear, box)
// and libswscale bilinear. Counter psnr_db: the tiles against an exact area
// average of each full input (Y, U and V together).
// BM_ScalePlane/<method>: one luma plane through simd::scale_plane() for each
// method it chooses, beside libyuv::ScalePlane (box) on the same sizes.
#include <benchmark/benchmark.h>
#include <libyuv.h>

extern "C" {
#include <libswscale/swscale.h>
}

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "compose/compositor.h"
#include "base/i420.h"
#include "compose/layout.h"
#include "simd/scale.h"
#include "interleave.h"

namespace sipmix {
namespace {

using video::I420Buffer;
using video::I420View;
using video::Rect;

// One input: smooth shading, a ramp of fine stripes (up to near the source
// Nyquist frequency, where point-sampling aliases) and noise; own colour.
void make_input(I420Buffer& b, int k) {
  const int w = b.width(), h = b.height();
  video::I420MutableView v = b.mutable_view();
  std::mt19937 rng(static_cast<uint32_t>(k + 1));
  std::uniform_int_distribution<int> noise(-6, 6);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double nx = static_cast<double>(x) / w, ny = static_cast<double>(y) / h;
      const double stripes = 22 * std::sin(3.14159 * (0.02 + 0.48 * ny) * x * (1 + 0.01 * k));
      const double val = 70 + 12 * k + 40 * std::sin(6.28 * (nx * (1 + k % 3) + ny)) + stripes + noise(rng);
      v.y[static_cast<ptrdiff_t>(y) * v.stride_y + x] = static_cast<uint8_t>(std::clamp(val, 0.0, 255.0));
    }
  for (int y = 0; y < (h + 1) / 2; ++y)
    for (int x = 0; x < (w + 1) / 2; ++x) {
      v.u[static_cast<ptrdiff_t>(y) * v.stride_u + x] = static_cast<uint8_t>(128 + 50 * std::cos(k * 0.7) + noise(rng));
      v.v[static_cast<ptrdiff_t>(y) * v.stride_v + x] =
          static_cast<uint8_t>(128 + 50 * std::sin(k * 0.7) + 20 * std::sin(x * 0.3) + noise(rng));
    }
}

// Exact area average of a whole w x h plane into dw x dh (double precision).
void area_average(const uint8_t* src, int stride, int w, int h, int dw, int dh, double* out) {
  const double sx = static_cast<double>(w) / dw, sy = static_cast<double>(h) / dh;
  for (int j = 0; j < dh; ++j)
    for (int i = 0; i < dw; ++i) {
      const double x0 = i * sx, x1 = x0 + sx, y0 = j * sy, y1 = y0 + sy;
      double acc = 0;
      for (int r = static_cast<int>(y0); r < std::min(h, static_cast<int>(std::ceil(y1))); ++r) {
        const double wy = std::min(y1, r + 1.0) - std::max(y0, static_cast<double>(r));
        for (int c = static_cast<int>(x0); c < std::min(w, static_cast<int>(std::ceil(x1))); ++c)
          acc += wy * (std::min(x1, c + 1.0) - std::max(x0, static_cast<double>(c))) * src[static_cast<ptrdiff_t>(r) * stride + c];
      }
      out[static_cast<size_t>(j) * dw + i] = acc / (sx * sy);
    }
}

struct Scene {
  int src_w, src_h;
  std::array<I420Buffer, 9> inputs;
  std::array<Rect, 9> cells, dst;
  // Area-average reference per tile: Y then U then V.
  std::array<std::vector<double>, 9> ref;

  Scene(int w, int h) : src_w(w), src_h(h) {
    video::LayoutManager layout;
    std::vector<video::StreamCandidate> c;
    for (int k = 0; k < 9; ++k) c.push_back({static_cast<uint64_t>(k), static_cast<uint64_t>(k), std::nullopt});
    layout.update(c, std::nullopt);
    for (int k = 0; k < 9; ++k) {
      inputs[k].reset(w, h);
      make_input(inputs[k], k);
      cells[k] = layout.slots()[k].cell;
      dst[k] = video::place(cells[k], w, h, video::FitMode::kLetterbox).dst;
      const Rect& d = dst[k];
      const I420View v = inputs[k].view();
      ref[k].resize(static_cast<size_t>(d.w) * d.h * 3 / 2);
      double* out = ref[k].data();
      area_average(v.y, v.stride_y, w, h, d.w, d.h, out);
      area_average(v.u, v.stride_u, (w + 1) / 2, (h + 1) / 2, d.w / 2, d.h / 2, out + d.w * d.h);
      area_average(v.v, v.stride_v, (w + 1) / 2, (h + 1) / 2, d.w / 2, d.h / 2, out + d.w * d.h * 5 / 4);
    }
  }

  // planes: 1 = Y only, 2 = U and V only, 3 = all.
  double psnr(const I420View& cv, int planes = 3) const {
    double se = 0, n = 0;
    for (int k = 0; k < 9; ++k) {
      const Rect& d = dst[k];
      const double* r = ref[k].data();
      auto plane = [&](const uint8_t* p, int stride, int x0, int y0, int w, int h, const double* rp) {
        for (int y = 0; y < h; ++y)
          for (int x = 0; x < w; ++x) {
            const double e = p[static_cast<ptrdiff_t>(y0 + y) * stride + x0 + x] - rp[static_cast<size_t>(y) * w + x];
            se += e * e;
          }
        n += static_cast<double>(w) * h;
      };
      if (planes & 1) plane(cv.y, cv.stride_y, d.x, d.y, d.w, d.h, r);
      if (planes & 2) {
        plane(cv.u, cv.stride_u, d.x / 2, d.y / 2, d.w / 2, d.h / 2, r + d.w * d.h);
        plane(cv.v, cv.stride_v, d.x / 2, d.y / 2, d.w / 2, d.h / 2, r + d.w * d.h * 5 / 4);
      }
    }
    return 10 * std::log10(255.0 * 255.0 / (se / n));
  }
};

void report_psnr(benchmark::State& state, const Scene& sc, const I420View& cv) {
  state.counters["psnr_db"] = sc.psnr(cv);
  state.counters["psnr_y_db"] = sc.psnr(cv, 1);
  state.counters["psnr_uv_db"] = sc.psnr(cv, 2);
}

const Scene& scene(int w) {
  static std::unique_ptr<Scene> s720, s360;
  auto& s = w == 1280 ? s720 : s360;
  if (!s) s = std::make_unique<Scene>(w, w * 9 / 16);
  return *s;
}

void BM_Sipmix(benchmark::State& state, int src_w, bool trim) {
  const Scene& sc = scene(src_w);
  video::Compositor comp;
  video::CompositorConfig cfg;
  cfg.layout.exact_ratio_trim = trim;
  if (!comp.configure(cfg).ok()) {
    state.SkipWithError("configure failed");
    return;
  }
  std::array<video::TileInput, 9> tiles;
  for (int k = 0; k < 9; ++k) tiles[k] = {static_cast<uint64_t>(k), sc.cells[k], sc.inputs[k].view(), 0};
  uint64_t gen = 0;
  for (auto _ : state) {
    ++gen;  // every tile has a new frame
    for (auto& t : tiles) t.generation = gen;
    if (!comp.compose(tiles).ok()) state.SkipWithError("compose failed");
    benchmark::ClobberMemory();
  }
  report_psnr(state, sc, comp.canvas());
  state.SetItemsProcessed(state.iterations() * 9);
}

void BM_Libyuv(benchmark::State& state, int src_w, libyuv::FilterMode mode) {
  const Scene& sc = scene(src_w);
  I420Buffer canvas(1280, 720);
  canvas.fill(16, 128, 128);
  video::I420MutableView cv = canvas.mutable_view();
  auto run = [&] {
    for (int k = 0; k < 9; ++k) {
      const I420View in = sc.inputs[k].view();
      const Rect& d = sc.dst[k];
      libyuv::I420Scale(in.y, in.stride_y, in.u, in.stride_u, in.v, in.stride_v, in.width, in.height,
                        cv.y + static_cast<ptrdiff_t>(d.y) * cv.stride_y + d.x, cv.stride_y,
                        cv.u + static_cast<ptrdiff_t>(d.y / 2) * cv.stride_u + d.x / 2, cv.stride_u,
                        cv.v + static_cast<ptrdiff_t>(d.y / 2) * cv.stride_v + d.x / 2, cv.stride_v, d.w, d.h, mode);
    }
  };
  for (auto _ : state) {
    run();
    benchmark::ClobberMemory();
  }
  report_psnr(state, sc, canvas.view());
  state.SetItemsProcessed(state.iterations() * 9);
}

void BM_Swscale(benchmark::State& state, int src_w) {
  const Scene& sc = scene(src_w);
  I420Buffer canvas(1280, 720);
  canvas.fill(16, 128, 128);
  video::I420MutableView cv = canvas.mutable_view();
  std::array<SwsContext*, 9> ctx{};
  for (int k = 0; k < 9; ++k)
    ctx[k] = sws_getContext(sc.src_w, sc.src_h, AV_PIX_FMT_YUV420P, sc.dst[k].w, sc.dst[k].h, AV_PIX_FMT_YUV420P,
                            SWS_BILINEAR, nullptr, nullptr, nullptr);
  auto run = [&] {
    for (int k = 0; k < 9; ++k) {
      const I420View in = sc.inputs[k].view();
      const Rect& d = sc.dst[k];
      const uint8_t* const src[3] = {in.y, in.u, in.v};
      const int src_stride[3] = {in.stride_y, in.stride_u, in.stride_v};
      uint8_t* const dst[3] = {cv.y + static_cast<ptrdiff_t>(d.y) * cv.stride_y + d.x,
                               cv.u + static_cast<ptrdiff_t>(d.y / 2) * cv.stride_u + d.x / 2,
                               cv.v + static_cast<ptrdiff_t>(d.y / 2) * cv.stride_v + d.x / 2};
      const int dst_stride[3] = {cv.stride_y, cv.stride_u, cv.stride_v};
      sws_scale(ctx[k], src, src_stride, 0, in.height, dst, dst_stride);
    }
  };
  for (auto _ : state) {
    run();
    benchmark::ClobberMemory();
  }
  report_psnr(state, sc, canvas.view());
  state.SetItemsProcessed(state.iterations() * 9);
  for (SwsContext* c : ctx) sws_freeContext(c);
}

// Default layout (no trim): 1280x720 -> 426x240 through the fused 3-row area
// filter (rows 3:1, columns by an exact-coverage 4-tap plan).
// sipmix_box3_trim: the earlier default, the source trimmed to 1278 columns
// for the exact 3x3 box (the "before" figure).
BENCHMARK_CAPTURE(BM_Sipmix, 720p, 1280, false)->Name("BM_Compose3x3_720p/sipmix")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Sipmix, 720p_trim, 1280, true)
    ->Name("BM_Compose3x3_720p/sipmix_box3_trim")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Libyuv, 720p_bilinear, 1280, libyuv::kFilterBilinear)
    ->Name("BM_Compose3x3_720p/libyuv_bilinear")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Libyuv, 720p_box, 1280, libyuv::kFilterBox)
    ->Name("BM_Compose3x3_720p/libyuv_box")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Swscale, 720p, 1280)->Name("BM_Compose3x3_720p/swscale_bilinear")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Sipmix, 360p, 640, false)->Name("BM_Compose3x3_360p/sipmix")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Libyuv, 360p_bilinear, 640, libyuv::kFilterBilinear)
    ->Name("BM_Compose3x3_360p/libyuv_bilinear")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Libyuv, 360p_box, 640, libyuv::kFilterBox)
    ->Name("BM_Compose3x3_360p/libyuv_box")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Swscale, 360p, 640)->Name("BM_Compose3x3_360p/swscale_bilinear")->Unit(benchmark::kMicrosecond);

// The same three compositions as objects over any 9 inputs, for the
// interleaved comparisons below: one compose() is one 3x3 canvas.
struct SipmixCompose {
  video::Compositor comp;
  std::array<video::TileInput, 9> tiles;
  uint64_t gen = 0;
  bool ok = false;

  SipmixCompose(const Scene& sc, const std::array<I420View, 9>& in) {
    video::CompositorConfig cfg;
    ok = comp.configure(cfg).ok();
    for (int k = 0; k < 9; ++k) tiles[k] = {static_cast<uint64_t>(k), sc.cells[k], in[k], 0};
  }
  void compose() {
    ++gen;  // every tile has a new frame
    for (auto& t : tiles) t.generation = gen;
    if (!comp.compose(tiles).ok()) ok = false;
    benchmark::ClobberMemory();
  }
};

struct LibyuvCompose {
  const Scene& sc;
  std::array<I420View, 9> in;
  libyuv::FilterMode mode;
  I420Buffer canvas{1280, 720};

  LibyuvCompose(const Scene& s, const std::array<I420View, 9>& i, libyuv::FilterMode m) : sc(s), in(i), mode(m) {
    canvas.fill(16, 128, 128);
  }
  void compose() {
    video::I420MutableView cv = canvas.mutable_view();
    for (int k = 0; k < 9; ++k) {
      const Rect& d = sc.dst[k];
      libyuv::I420Scale(in[k].y, in[k].stride_y, in[k].u, in[k].stride_u, in[k].v, in[k].stride_v, in[k].width,
                        in[k].height, cv.y + static_cast<ptrdiff_t>(d.y) * cv.stride_y + d.x, cv.stride_y,
                        cv.u + static_cast<ptrdiff_t>(d.y / 2) * cv.stride_u + d.x / 2, cv.stride_u,
                        cv.v + static_cast<ptrdiff_t>(d.y / 2) * cv.stride_v + d.x / 2, cv.stride_v, d.w, d.h, mode);
    }
    benchmark::ClobberMemory();
  }
};

struct SwscaleCompose {
  const Scene& sc;
  std::array<I420View, 9> in;
  I420Buffer canvas{1280, 720};
  std::array<SwsContext*, 9> ctx{};

  SwscaleCompose(const Scene& s, const std::array<I420View, 9>& i) : sc(s), in(i) {
    canvas.fill(16, 128, 128);
    for (int k = 0; k < 9; ++k)
      ctx[k] = sws_getContext(sc.src_w, sc.src_h, AV_PIX_FMT_YUV420P, sc.dst[k].w, sc.dst[k].h, AV_PIX_FMT_YUV420P,
                              SWS_BILINEAR, nullptr, nullptr, nullptr);
  }
  ~SwscaleCompose() {
    for (SwsContext* c : ctx) sws_freeContext(c);
  }
  SwscaleCompose(const SwscaleCompose&) = delete;
  SwscaleCompose& operator=(const SwscaleCompose&) = delete;
  void compose() {
    video::I420MutableView cv = canvas.mutable_view();
    for (int k = 0; k < 9; ++k) {
      const Rect& d = sc.dst[k];
      const uint8_t* const src[3] = {in[k].y, in[k].u, in[k].v};
      const int src_stride[3] = {in[k].stride_y, in[k].stride_u, in[k].stride_v};
      uint8_t* const dst[3] = {cv.y + static_cast<ptrdiff_t>(d.y) * cv.stride_y + d.x,
                               cv.u + static_cast<ptrdiff_t>(d.y / 2) * cv.stride_u + d.x / 2,
                               cv.v + static_cast<ptrdiff_t>(d.y / 2) * cv.stride_v + d.x / 2};
      const int dst_stride[3] = {cv.stride_y, cv.stride_u, cv.stride_v};
      sws_scale(ctx[k], src, src_stride, 0, in[k].height, dst, dst_stride);
    }
    benchmark::ClobberMemory();
  }
};

// Cold inputs: before each composition its 9 input pictures are written
// afresh (a memcpy of each whole picture from a pristine copy, as a decoder
// writes its output), untimed; then the composition is timed alone. The
// writes leave the inputs where a decoder's output would be: the part
// written last still in cache, the rest evicted to memory.
struct ColdInputs {
  const Scene& sc;
  std::array<I420Buffer, 9> pics;

  explicit ColdInputs(const Scene& s) : sc(s) {
    for (int k = 0; k < 9; ++k) pics[k].reset(s.src_w, s.src_h);
    write();
  }
  std::array<I420View, 9> views() const {
    std::array<I420View, 9> v;
    for (int k = 0; k < 9; ++k) v[k] = pics[k].view();
    return v;
  }
  void write() {
    for (int k = 0; k < 9; ++k) {
      const I420View from = sc.inputs[k].view();
      const video::I420MutableView to = pics[k].mutable_view();
      const size_t ch = static_cast<size_t>((from.height + 1) / 2);
      std::memcpy(to.y, from.y, static_cast<size_t>(from.stride_y) * static_cast<size_t>(from.height));
      std::memcpy(to.u, from.u, static_cast<size_t>(from.stride_u) * ch);
      std::memcpy(to.v, from.v, static_cast<size_t>(from.stride_v) * ch);
    }
    benchmark::ClobberMemory();
  }
};

// BM_Compose3x3_<size>[_cold]/interleaved: sipmix (default layout),
// libyuv bilinear, libyuv box and swscale bilinear, each composing the same
// canvas as its separate benchmark above, alternately in one run.
void make_compose_sides(benchmark::State& state, std::vector<bench::Side>* sides, int src_w, bool cold) {
  const Scene& sc = scene(src_w);
  std::shared_ptr<ColdInputs> fresh;
  std::array<I420View, 9> in;
  if (cold) {
    fresh = std::make_shared<ColdInputs>(sc);
    in = fresh->views();
  } else {
    for (int k = 0; k < 9; ++k) in[k] = sc.inputs[k].view();
  }
  auto sipmix = std::make_shared<SipmixCompose>(sc, in);
  if (!sipmix->ok) {
    state.SkipWithError("configure failed");
    return;
  }
  auto bilinear = std::make_shared<LibyuvCompose>(sc, in, libyuv::kFilterBilinear);
  auto box = std::make_shared<LibyuvCompose>(sc, in, libyuv::kFilterBox);
  auto sws = std::make_shared<SwscaleCompose>(sc, in);
  // One side from one composition: whole batches when warm, each
  // composition timed after its inputs are written when cold.
  auto side = [fresh](std::string name, auto obj) {
    if (!fresh) return bench::Side::whole(std::move(name), [obj](int64_t n) {
      for (int64_t i = 0; i < n; ++i) obj->compose();
    });
    return bench::Side{std::move(name), [obj, fresh](int64_t n, bench::BatchTimer& t) {
                         for (int64_t i = 0; i < n; ++i) {
                           fresh->write();
                           t.start();
                           obj->compose();
                           t.stop();
                         }
                       }};
  };
  sides->push_back(side("sipmix", sipmix));
  sides->push_back(side("libyuv_bilinear", bilinear));
  sides->push_back(side("libyuv_box", box));
  sides->push_back(side("swscale_bilinear", sws));
}

const bool kComposeInterleaved = [] {
  for (int w : {1280, 640})
    for (bool cold : {false, true}) {
      const std::string name = std::string("BM_Compose3x3_") + (w == 1280 ? "720p" : "360p") + (cold ? "_cold" : "") +
                               "/interleaved";
      bench::InterleavedBenchmark(name, [w, cold](benchmark::State& s, std::vector<bench::Side>* sides) {
        make_compose_sides(s, sides, w, cold);
      });
    }
  return true;
}();

// Sizes that make scale_plane() take each of its methods (kBox).
struct PlaneCase {
  const char* method;
  int src_w, src_h, dst_w, dst_h;
};
constexpr PlaneCase kPlaneCases[] = {
    {"copy", 1280, 720, 1280, 720},        {"box2", 1280, 720, 640, 360},
    {"box3", 1278, 720, 426, 240},         {"rows3_cols4", 1280, 720, 426, 240},
    {"area", 1920, 1080, 426, 240},        {"bilinear_up", 640, 360, 1280, 720},
    {"bilinear_down", 1280, 720, 854, 480},
};

void BM_ScalePlaneSipmix(benchmark::State& state, PlaneCase c) {
  I420Buffer in(c.src_w, c.src_h), out(c.dst_w, c.dst_h);
  make_input(in, 0);
  std::vector<uint8_t> storage(simd::scale_scratch_bytes(c.src_w));
  simd::ScaleScratch scratch;
  const I420View s = in.view();
  video::I420MutableView d = out.mutable_view();
  const std::string method =
      simd::scale_method_name(simd::scale_plane_method(c.src_w, c.src_h, c.dst_w, c.dst_h, simd::ScaleFilter::kBox));
  if (!scratch.init(storage.data(), storage.size(), c.src_w) || std::string(c.method).rfind(method, 0) != 0) {
    state.SkipWithError("scale_plane takes another method for these sizes");
    return;
  }
  for (auto _ : state) {
    if (!simd::scale_plane(s.y, s.stride_y, c.src_w, c.src_h, d.y, d.stride_y, c.dst_w, c.dst_h,
                           simd::ScaleFilter::kBox, &scratch))
      state.SkipWithError("scale_plane failed");
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * c.dst_w * c.dst_h);
}

void BM_ScalePlaneLibyuv(benchmark::State& state, PlaneCase c) {
  I420Buffer in(c.src_w, c.src_h), out(c.dst_w, c.dst_h);
  make_input(in, 0);
  const I420View s = in.view();
  video::I420MutableView d = out.mutable_view();
  for (auto _ : state) {
    libyuv::ScalePlane(s.y, s.stride_y, c.src_w, c.src_h, d.y, d.stride_y, c.dst_w, c.dst_h, libyuv::kFilterBox);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * c.dst_w * c.dst_h);
}

const bool kPlaneBenchmarks = [] {
  for (const PlaneCase& c : kPlaneCases) {
    const std::string base = std::string("BM_ScalePlane/") + c.method;
    benchmark::RegisterBenchmark((base + "/sipmix").c_str(), BM_ScalePlaneSipmix, c)->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((base + "/libyuv_box").c_str(), BM_ScalePlaneLibyuv, c)->Unit(benchmark::kMicrosecond);
  }
  return true;
}();

// BM_ScalePlane/<method>/interleaved: the two above, alternately in one run.
void make_plane_sides(benchmark::State& state, std::vector<bench::Side>* sides, PlaneCase c) {
  struct Planes {
    I420Buffer in, out_sipmix, out_libyuv;
    std::vector<uint8_t> storage;
    simd::ScaleScratch scratch;
    bool ok = true;
  };
  auto p = std::make_shared<Planes>();
  p->in.reset(c.src_w, c.src_h);
  p->out_sipmix.reset(c.dst_w, c.dst_h);
  p->out_libyuv.reset(c.dst_w, c.dst_h);
  make_input(p->in, 0);
  p->storage.resize(simd::scale_scratch_bytes(c.src_w));
  const std::string method =
      simd::scale_method_name(simd::scale_plane_method(c.src_w, c.src_h, c.dst_w, c.dst_h, simd::ScaleFilter::kBox));
  if (!p->scratch.init(p->storage.data(), p->storage.size(), c.src_w) || std::string(c.method).rfind(method, 0) != 0) {
    state.SkipWithError("scale_plane takes another method for these sizes");
    return;
  }
  sides->push_back(bench::Side::whole("sipmix", [p, c](int64_t n) {
    const I420View s = p->in.view();
    video::I420MutableView d = p->out_sipmix.mutable_view();
    for (int64_t i = 0; i < n; ++i) {
      if (!simd::scale_plane(s.y, s.stride_y, c.src_w, c.src_h, d.y, d.stride_y, c.dst_w, c.dst_h,
                             simd::ScaleFilter::kBox, &p->scratch))
        p->ok = false;
      benchmark::ClobberMemory();
    }
  }));
  sides->push_back(bench::Side::whole("libyuv_box", [p, c](int64_t n) {
    const I420View s = p->in.view();
    video::I420MutableView d = p->out_libyuv.mutable_view();
    for (int64_t i = 0; i < n; ++i) {
      libyuv::ScalePlane(s.y, s.stride_y, c.src_w, c.src_h, d.y, d.stride_y, c.dst_w, c.dst_h, libyuv::kFilterBox);
      benchmark::ClobberMemory();
    }
  }));
}

const bool kPlaneInterleaved = [] {
  for (const PlaneCase& c : kPlaneCases)
    bench::InterleavedBenchmark(std::string("BM_ScalePlane/") + c.method + "/interleaved",
                                [c](benchmark::State& s, std::vector<bench::Side>* sides) {
                                  make_plane_sides(s, sides, c);
                                });
  return true;
}();

}  // namespace
}  // namespace sipmix
