#include "tools/replay/picture.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

#include "tools/replay/font.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

namespace sipmix::replay {

// ---------------------------------------------------------------- RgbImage

void RgbImage::reset(int width, int height, Rgb fill) {
  width_ = std::max(width, 0);
  height_ = std::max(height, 0);
  pixels_.resize(static_cast<size_t>(width_) * height_ * 3);
  for (size_t i = 0; i < pixels_.size(); i += 3) {
    pixels_[i] = fill.r;
    pixels_[i + 1] = fill.g;
    pixels_[i + 2] = fill.b;
  }
}

Rgb RgbImage::pixel(int x, int y) const {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return {};
  const uint8_t* p = &pixels_[(static_cast<size_t>(y) * width_ + x) * 3];
  return {p[0], p[1], p[2]};
}

void RgbImage::set_pixel(int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  uint8_t* p = &pixels_[(static_cast<size_t>(y) * width_ + x) * 3];
  p[0] = c.r;
  p[1] = c.g;
  p[2] = c.b;
}

void RgbImage::fill_rect(int x, int y, int w, int h, Rgb c) {
  const int x0 = std::max(x, 0), y0 = std::max(y, 0);
  const int x1 = std::min(x + w, width_), y1 = std::min(y + h, height_);
  for (int yy = y0; yy < y1; ++yy) {
    uint8_t* p = &pixels_[(static_cast<size_t>(yy) * width_ + x0) * 3];
    for (int xx = x0; xx < x1; ++xx, p += 3) {
      p[0] = c.r;
      p[1] = c.g;
      p[2] = c.b;
    }
  }
}

void RgbImage::draw_rect(int x, int y, int w, int h, Rgb c) {
  fill_rect(x, y, w, 1, c);
  fill_rect(x, y + h - 1, w, 1, c);
  fill_rect(x, y, 1, h, c);
  fill_rect(x + w - 1, y, 1, h, c);
}

void RgbImage::draw_line(int x0, int y0, int x1, int y1, Rgb c) {
  const int dx = std::abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
  const int dy = -std::abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
  int err = dx + dy;
  for (;;) {
    set_pixel(x0, y0, c);
    if (x0 == x1 && y0 == y1) break;
    const int e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x0 += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y0 += sy;
    }
  }
}

void RgbImage::blit(const RgbImage& src, int x, int y) {
  const int x0 = std::max(x, 0), y0 = std::max(y, 0);
  const int x1 = std::min(x + src.width(), width_), y1 = std::min(y + src.height(), height_);
  if (x1 <= x0) return;
  for (int yy = y0; yy < y1; ++yy) {
    const uint8_t* s = src.data() + (static_cast<size_t>(yy - y) * src.width() + (x0 - x)) * 3;
    std::copy(s, s + (x1 - x0) * 3, &pixels_[(static_cast<size_t>(yy) * width_ + x0) * 3]);
  }
}

// ---------------------------------------------------------------- PNG I/O

namespace {

std::string av_error(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof(buf));
  return buf;
}

struct CodecCtxDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
using CodecCtxPtr = std::unique_ptr<AVCodecContext, CodecCtxDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;

}  // namespace

Status write_png(const std::string& path, const RgbImage& image) {
  if (image.empty()) return invalid_argument(path + ": empty image");
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_PNG);
  if (!codec) return unavailable(path + ": libavcodec has no PNG encoder");
  CodecCtxPtr ctx(avcodec_alloc_context3(codec));
  FramePtr frame(av_frame_alloc());
  PacketPtr pkt(av_packet_alloc());
  if (!ctx || !frame || !pkt) return Status(StatusCode::kInternal, path + ": out of memory");
  ctx->width = image.width();
  ctx->height = image.height();
  ctx->pix_fmt = AV_PIX_FMT_RGB24;
  ctx->time_base = {1, 1};
  int err = avcodec_open2(ctx.get(), codec, nullptr);
  if (err < 0) return unavailable(path + ": PNG encoder: " + av_error(err));
  frame->format = AV_PIX_FMT_RGB24;
  frame->width = image.width();
  frame->height = image.height();
  frame->data[0] = const_cast<uint8_t*>(image.data());  // the encoder copies non-refcounted frames
  frame->linesize[0] = image.stride();
  frame->pts = 0;
  err = avcodec_send_frame(ctx.get(), frame.get());
  if (err >= 0) err = avcodec_send_frame(ctx.get(), nullptr);
  if (err < 0) return Status(StatusCode::kInternal, path + ": PNG encode: " + av_error(err));
  err = avcodec_receive_packet(ctx.get(), pkt.get());
  if (err < 0) return Status(StatusCode::kInternal, path + ": PNG encode: " + av_error(err));

  const std::string part = path + ".part";
  {
    std::ofstream out(part, std::ios::binary | std::ios::trunc);
    if (!out) return unavailable(path + ": cannot create file");
    out.write(reinterpret_cast<const char*>(pkt->data), pkt->size);
    out.close();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove(part, ec);
      return unavailable(path + ": write failed");
    }
  }
  std::error_code ec;
  std::filesystem::rename(part, path, ec);
  if (ec) {
    std::filesystem::remove(part, ec);
    return unavailable(path + ": cannot rename " + part);
  }
  return {};
}

StatusOr<RgbImage> read_png(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found(path + ": cannot open");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.empty()) return invalid_argument(path + ": empty file");
  const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_PNG);
  if (!codec) return unavailable(path + ": libavcodec has no PNG decoder");
  CodecCtxPtr ctx(avcodec_alloc_context3(codec));
  FramePtr frame(av_frame_alloc());
  PacketPtr pkt(av_packet_alloc());
  if (!ctx || !frame || !pkt || av_new_packet(pkt.get(), static_cast<int>(bytes.size())) < 0) {
    return Status(StatusCode::kInternal, path + ": out of memory");
  }
  std::copy(bytes.begin(), bytes.end(), pkt->data);
  int err = avcodec_open2(ctx.get(), codec, nullptr);
  if (err >= 0) err = avcodec_send_packet(ctx.get(), pkt.get());
  if (err >= 0) err = avcodec_receive_frame(ctx.get(), frame.get());
  if (err < 0) return invalid_argument(path + ": not a decodable PNG: " + av_error(err));
  RgbImage out(frame->width, frame->height);
  SwsContext* sws = sws_getContext(frame->width, frame->height, static_cast<AVPixelFormat>(frame->format),
                                   frame->width, frame->height, AV_PIX_FMT_RGB24, SWS_POINT, nullptr, nullptr,
                                   nullptr);
  if (!sws) return unavailable(path + ": cannot convert pixel format");
  uint8_t* dst[4] = {out.data(), nullptr, nullptr, nullptr};
  int dst_stride[4] = {out.stride(), 0, 0, 0};
  sws_scale(sws, frame->data, frame->linesize, 0, frame->height, dst, dst_stride);
  sws_freeContext(sws);
  return out;
}

Status i420_to_rgb(const PictureView& in, RgbImage& out) {
  if (in.empty()) return invalid_argument("i420_to_rgb: empty picture");
  if (out.width() != in.width || out.height() != in.height) out.reset(in.width, in.height);
  SwsContext* sws = sws_getContext(in.width, in.height, AV_PIX_FMT_YUV420P, in.width, in.height, AV_PIX_FMT_RGB24,
                                   SWS_POINT, nullptr, nullptr, nullptr);
  if (!sws) return unavailable("i420_to_rgb: libswscale context");
  const uint8_t* src[4] = {in.y, in.u, in.v, nullptr};
  const int src_stride[4] = {in.stride_y, in.stride_u, in.stride_v, 0};
  uint8_t* dst[4] = {out.data(), nullptr, nullptr, nullptr};
  int dst_stride[4] = {out.stride(), 0, 0, 0};
  sws_scale(sws, src, src_stride, 0, in.height, dst, dst_stride);
  sws_freeContext(sws);
  return {};
}

std::string format_media_time(int64_t t_us) {
  const bool neg = t_us < 0;
  const int64_t tenths = (neg ? -t_us : t_us) / 100'000;
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%s%lld:%02lld.%lld", neg ? "-" : "", static_cast<long long>(tenths / 600),
                static_cast<long long>(tenths / 10 % 60), static_cast<long long>(tenths % 10));
  return buf;
}

// ---------------------------------------------------------------- ContactSheet

namespace {
constexpr int kSheetMargin = 8;
constexpr int kSheetLabelScale = 2;
constexpr int kSheetLabelHeight = kGlyphHeight * kSheetLabelScale + 8;
}  // namespace

ContactSheet::ContactSheet() : ContactSheet(Config{}) {}
ContactSheet::ContactSheet(const Config& config) : config_(config) {
  config_.interval_us = std::max<int64_t>(config_.interval_us, 1);
  config_.thumb_width = std::max(config_.thumb_width & ~1, 16);
  config_.columns = std::max(config_.columns, 1);
  config_.max_thumbs = std::max(config_.max_thumbs, 1);
}
ContactSheet::~ContactSheet() { sws_freeContext(sws_); }

bool ContactSheet::due(int64_t t_us) const {
  return static_cast<int>(thumbs_.size()) < config_.max_thumbs && t_us >= next_due_us_;
}

Status ContactSheet::add(const PictureView& canvas, int64_t t_us) {
  if (canvas.empty()) return invalid_argument("contact sheet: empty canvas");
  if (static_cast<int>(thumbs_.size()) >= config_.max_thumbs) return {};
  if (!sws_ || sws_w_ != canvas.width || sws_h_ != canvas.height) {
    sws_freeContext(sws_);
    sws_w_ = canvas.width;
    sws_h_ = canvas.height;
    // Thumbnail height follows the first canvas's aspect, so the grid stays regular.
    if (thumb_h_ == 0) {
      thumb_h_ = std::max(2, static_cast<int>(static_cast<int64_t>(config_.thumb_width) * canvas.height /
                                              canvas.width) & ~1);
    }
    sws_ = sws_getContext(canvas.width, canvas.height, AV_PIX_FMT_YUV420P, config_.thumb_width, thumb_h_,
                          AV_PIX_FMT_RGB24, SWS_AREA, nullptr, nullptr, nullptr);
    if (!sws_) return unavailable("contact sheet: libswscale context");
  }
  Thumb thumb{RgbImage(config_.thumb_width, thumb_h_), t_us};
  const uint8_t* src[4] = {canvas.y, canvas.u, canvas.v, nullptr};
  const int src_stride[4] = {canvas.stride_y, canvas.stride_u, canvas.stride_v, 0};
  uint8_t* dst[4] = {thumb.image.data(), nullptr, nullptr, nullptr};
  int dst_stride[4] = {thumb.image.stride(), 0, 0, 0};
  sws_scale(sws_, src, src_stride, 0, canvas.height, dst, dst_stride);
  thumbs_.push_back(std::move(thumb));
  // Next due time on the regular grid after t_us (a late snapshot does not shift the grid).
  const int64_t base = next_due_us_ == INT64_MIN ? t_us : next_due_us_;
  next_due_us_ = base + ((t_us - base) / config_.interval_us + 1) * config_.interval_us;
  return {};
}

RgbImage ContactSheet::render() const {
  if (thumbs_.empty()) {
    RgbImage img(320, 60, config_.background);
    draw_text(img, 16, 22, "no frames", config_.label_colour, 2);
    return img;
  }
  const int n = static_cast<int>(thumbs_.size());
  const int cols = std::min(config_.columns, n);
  const int rows = (n + cols - 1) / cols;
  const int cell_w = config_.thumb_width + kSheetMargin;
  const int cell_h = thumb_h_ + kSheetLabelHeight + kSheetMargin;
  RgbImage img(kSheetMargin + cols * cell_w, kSheetMargin + rows * cell_h, config_.background);
  for (int i = 0; i < n; ++i) {
    const int x = kSheetMargin + (i % cols) * cell_w;
    const int y = kSheetMargin + (i / cols) * cell_h;
    img.blit(thumbs_[i].image, x, y);
    const std::string label = format_media_time(thumbs_[i].t_us);
    const int tw = text_width(label, kSheetLabelScale);
    draw_text(img, x + (config_.thumb_width - tw) / 2, y + thumb_h_ + 4, label, config_.label_colour,
              kSheetLabelScale);
  }
  return img;
}

// ---------------------------------------------------------------- Timeline

namespace {

constexpr Rgb kInk{40, 40, 40};
constexpr Rgb kGrid{225, 225, 225};
constexpr Rgb kPlotBg{246, 246, 248};
constexpr Rgb kLevelFill{170, 200, 245};

int64_t nice_step_us(int64_t duration_us, int plot_w) {
  // Aim for a tick about every 90 px.
  const int64_t target = duration_us * 90 / std::max(plot_w, 1);
  static constexpr int64_t kSteps[] = {100'000,    200'000,    500'000,     1'000'000,   2'000'000,
                                       5'000'000,  10'000'000, 15'000'000,  30'000'000,  60'000'000,
                                       120'000'000, 300'000'000, 600'000'000, 1'800'000'000, 3'600'000'000};
  for (int64_t s : kSteps) {
    if (s >= target) return s;
  }
  return 3'600'000'000;
}

std::string tick_label(int64_t t_us, int64_t step_us) {
  char buf[32];
  const int64_t s = t_us / 1'000'000;
  if (step_us < 1'000'000) {
    std::snprintf(buf, sizeof(buf), "%.1fs", static_cast<double>(t_us) / 1e6);
  } else if (t_us < 60'000'000) {
    std::snprintf(buf, sizeof(buf), "%llds", static_cast<long long>(s));
  } else {
    std::snprintf(buf, sizeof(buf), "%lld:%02lld", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  }
  return buf;
}

}  // namespace

RgbImage render_timeline(const TimelineData& data, const TimelineLayout& layout) {
  int64_t duration = data.duration_us;
  if (duration <= 0) {
    for (const auto& s : data.streams) {
      if (!s.level_dbfs.empty()) duration = std::max(duration, s.level_dbfs.back().t_us);
      if (!s.jitter_delay_ms.empty()) duration = std::max(duration, s.jitter_delay_ms.back().t_us);
      for (const auto& m : s.muted) duration = std::max(duration, m.second);
    }
    for (const auto& m : data.markers) duration = std::max(duration, m.t_us);
  }
  duration = std::max<int64_t>(duration, 1'000'000);

  const int nrows = std::max<int>(1, static_cast<int>(data.streams.size()));
  const int width = std::max(layout.width, layout.left + layout.right + 100);
  const int height = layout.top + nrows * (layout.row_height + layout.row_gap) + layout.axis_height;
  RgbImage img(width, height, kTimelineBackground);
  const int plot_x = layout.left;
  const int plot_w = width - layout.left - layout.right;
  auto x_of = [&](int64_t t) {
    const int64_t c = std::clamp<int64_t>(t, 0, duration);
    return plot_x + static_cast<int>(c * (plot_w - 1) / duration);
  };

  // Title and legend.
  int lx = 8;
  draw_text(img, lx, 8, "sipmix timeline", kInk, 2);
  lx = std::max(lx + text_width("sipmix timeline", 2) + 24, layout.left);
  auto legend = [&](Rgb c, std::string_view text) {
    img.fill_rect(lx, 11, 12, 8, c);
    draw_text(img, lx + 16, 12, text, kInk);
    lx += 16 + text_width(text) + 18;
  };
  legend(kTimelineLevelColour, "level dBFS");
  legend(kTimelineUnmutedColour, "unmuted");
  legend(kTimelineMutedColour, "muted");
  legend(kTimelineDelayColour, "jitter-buffer delay");
  legend(kTimelineMarkerColour, "events/digits");

  const int64_t step = nice_step_us(duration, plot_w);
  const int level_h = layout.row_height - layout.mute_band_height - layout.delay_height - 4;

  for (int r = 0; r < static_cast<int>(data.streams.size()); ++r) {
    const TimelineStream& s = data.streams[r];
    const int y0 = layout.top + r * (layout.row_height + layout.row_gap);
    const int band_y = y0 + level_h + 2;
    const int delay_y = band_y + layout.mute_band_height + 2;

    // Row label (wrapped to the label column) and axis captions.
    // Row name (wrapped, up to 3 lines) left of the captions, which take ~36 px.
    const int max_chars = std::max(1, (layout.left - 44) / kGlyphAdvance);
    {
      std::string_view rest = s.name;
      for (int line = 0; line < 3 && !rest.empty(); ++line) {
        size_t n = std::min<size_t>(rest.size(), max_chars);
        if (n < rest.size()) {  // break at the last space that fits, if any
          const size_t sp = rest.substr(0, n + 1).rfind(' ');
          if (sp != std::string_view::npos && sp > 0) n = sp;
        }
        draw_text(img, 4, y0 + 2 + line * kLineAdvance, rest.substr(0, n), kInk);
        rest.remove_prefix(n);
        while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
      }
    }

    // Level plot: per pixel column the loudest point, drawn as a filled area.
    img.fill_rect(plot_x, y0, plot_w, level_h, kPlotBg);
    for (int db = -20; db > kTimelineMinDbfs; db -= 20) {
      const int gy = y0 + static_cast<int>((-db) * (level_h - 1) / -kTimelineMinDbfs);
      img.fill_rect(plot_x, gy, plot_w, 1, kGrid);
      const std::string cap = std::to_string(db);
      draw_text(img, plot_x - text_width(cap) - 4, gy - 3, cap, kInk);
    }
    draw_text(img, plot_x - text_width("0 dB") - 4, y0, "0 dB", kInk);
    for (int64_t t = step; t < duration; t += step) img.fill_rect(x_of(t), y0, 1, level_h, kGrid);
    if (!s.level_dbfs.empty()) {
      std::vector<float> col(plot_w, -1000.f);
      for (const TimePoint& p : s.level_dbfs) {
        const int cx = x_of(p.t_us) - plot_x;
        col[cx] = std::max(col[cx], std::isfinite(p.value) ? p.value : -1000.f);
      }
      const int first = x_of(s.level_dbfs.front().t_us) - plot_x;
      const int last = x_of(s.level_dbfs.back().t_us) - plot_x;
      float held = kTimelineMinDbfs;
      for (int cx = first; cx <= last; ++cx) {
        if (col[cx] > -999.f) held = col[cx];
        const float v = std::clamp(held, kTimelineMinDbfs, 0.f);
        const int top = y0 + static_cast<int>((-v) * (level_h - 1) / -kTimelineMinDbfs);
        if (v > kTimelineMinDbfs) {
          img.fill_rect(plot_x + cx, top, 1, y0 + level_h - top, kLevelFill);
          img.fill_rect(plot_x + cx, top, 1, 2, kTimelineLevelColour);
        }
      }
    }

    // Mute band: green, red where muted.
    img.fill_rect(plot_x, band_y, plot_w, layout.mute_band_height, kTimelineUnmutedColour);
    for (const auto& m : s.muted) {
      const int a = x_of(m.first), b = x_of(m.second);
      img.fill_rect(a, band_y, std::max(b - a, 1), layout.mute_band_height, kTimelineMutedColour);
    }
    draw_text(img, plot_x - text_width("mute") - 4, band_y + (layout.mute_band_height - kGlyphHeight) / 2, "mute",
              kInk);

    // Jitter-buffer delay: line plot scaled to this stream's maximum (50 ms steps).
    img.fill_rect(plot_x, delay_y, plot_w, layout.delay_height, kPlotBg);
    float max_delay = 0;
    for (const TimePoint& p : s.jitter_delay_ms) max_delay = std::max(max_delay, p.value);
    const int scale_ms = std::max(50, static_cast<int>(std::ceil(max_delay / 50.f)) * 50);
    const std::string cap = std::to_string(scale_ms) + "ms";
    draw_text(img, plot_x - text_width(cap) - 4, delay_y, cap, kInk);
    draw_text(img, plot_x - text_width("delay") - 4, delay_y + layout.delay_height - kGlyphHeight, "delay", kInk);
    auto y_delay = [&](float v) {
      const float c = std::clamp(v, 0.f, static_cast<float>(scale_ms));
      return delay_y + layout.delay_height - 1 - static_cast<int>(c * (layout.delay_height - 1) / scale_ms);
    };
    for (size_t i = 0; i < s.jitter_delay_ms.size(); ++i) {
      const TimePoint& p = s.jitter_delay_ms[i];
      const int x = x_of(p.t_us), y = y_delay(p.value);
      if (i == 0) {
        img.set_pixel(x, y, kTimelineDelayColour);
      } else {
        const TimePoint& q = s.jitter_delay_ms[i - 1];
        img.draw_line(x_of(q.t_us), y_delay(q.value), x, y, kTimelineDelayColour);
        img.draw_line(x_of(q.t_us), y_delay(q.value) - 1, x, y - 1, kTimelineDelayColour);
      }
    }
  }

  // Markers: a vertical line through their row (or every row) with the label on top.
  const int rows_bottom = layout.top + nrows * (layout.row_height + layout.row_gap) - layout.row_gap;
  std::vector<int> label_right(nrows + 1, INT32_MIN);  // avoid overprinting labels on one row
  for (const TimelineMarker& m : data.markers) {
    const int x = x_of(m.t_us);
    const bool all = m.stream < 0 || m.stream >= static_cast<int>(data.streams.size());
    const int y_top = all ? layout.top : layout.top + m.stream * (layout.row_height + layout.row_gap);
    const int y_bottom = all ? rows_bottom : y_top + layout.row_height;
    for (int y = y_top; y < y_bottom; y += 2) img.set_pixel(x, y, kTimelineMarkerColour);
    const int slot = all ? nrows : m.stream;
    int ly = y_top + 2;
    const int w = text_width(m.label, 2) + 4;
    if (x + 2 <= label_right[slot]) ly += text_height(2) + 3;  // stagger when crowded
    img.fill_rect(x + 2, ly - 1, w, text_height(2) + 2, kTimelineBackground);
    draw_text(img, x + 4, ly, m.label, kTimelineMarkerColour, 2);
    label_right[slot] = std::max(label_right[slot], x + 2 + w);
  }

  // Time axis.
  const int axis_y = rows_bottom + 4;
  img.fill_rect(plot_x, axis_y, plot_w, 1, kInk);
  for (int64_t t = 0; t <= duration; t += step) {
    const int x = x_of(t);
    img.fill_rect(x, axis_y, 1, 5, kInk);
    const std::string label = tick_label(t, step);
    const int tw = text_width(label);
    draw_text(img, std::clamp(x - tw / 2, 0, width - tw), axis_y + 8, label, kInk);
  }
  draw_text(img, 4, axis_y + 8, "media time", kInk);
  return img;
}

Status write_timeline_png(const std::string& path, const TimelineData& data, const TimelineLayout& layout) {
  return write_png(path, render_timeline(data, layout));
}

}  // namespace sipmix::replay
