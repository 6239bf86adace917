// Pictures for people: packed RGB24 images, PNG writing (libavcodec png), an
// I420 -> RGB conversion, the contact sheet of the composed canvas and the
// timeline plot. Tool code, called from the replay thread only; each object
// owns its pixels.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sipmix/picture.h"
#include "sipmix/status.h"

struct SwsContext;  // libswscale

namespace sipmix::replay {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

// Packed RGB24, row stride = 3 * width. Drawing clips to the image.
class RgbImage {
 public:
  RgbImage() = default;
  RgbImage(int width, int height, Rgb fill = {}) { reset(width, height, fill); }
  void reset(int width, int height, Rgb fill = {});

  int width() const { return width_; }
  int height() const { return height_; }
  int stride() const { return width_ * 3; }
  uint8_t* data() { return pixels_.data(); }
  const uint8_t* data() const { return pixels_.data(); }
  bool empty() const { return width_ <= 0 || height_ <= 0; }

  Rgb pixel(int x, int y) const;  // {0,0,0} outside
  void set_pixel(int x, int y, Rgb c);
  void fill_rect(int x, int y, int w, int h, Rgb c);
  void draw_rect(int x, int y, int w, int h, Rgb c);           // 1-pixel outline
  void draw_line(int x0, int y0, int x1, int y1, Rgb c);       // Bresenham, 1 pixel
  void blit(const RgbImage& src, int x, int y);                // clipped copy

 private:
  int width_ = 0, height_ = 0;
  std::vector<uint8_t> pixels_;
};

// Encodes `image` as PNG into `path` (written to `<path>.part`, then renamed).
Status write_png(const std::string& path, const RgbImage& image);

// Decodes a PNG (any pixel format libavcodec's decoder gives) into RGB24.
StatusOr<RgbImage> read_png(const std::string& path);

// BT.601 limited-range I420 -> RGB24 of the same size (libswscale). `out` is
// resized if needed.
Status i420_to_rgb(const PictureView& in, RgbImage& out);

// Contact sheet: thumbnails of the composed canvas every `interval_us` of media
// time, in a grid of `columns`, each with its time label ("m:ss.s") underneath.
class ContactSheet {
 public:
  struct Config {
    int64_t interval_us = 2'000'000;
    int thumb_width = 320;   // thumbnail size; height follows the canvas aspect
    int columns = 4;
    int max_thumbs = 48;     // later snapshots are ignored once full
    Rgb background{32, 32, 32};
    Rgb label_colour{235, 235, 235};
  };
  ContactSheet();
  explicit ContactSheet(const Config& config);
  ~ContactSheet();
  ContactSheet(const ContactSheet&) = delete;
  ContactSheet& operator=(const ContactSheet&) = delete;

  // True when a snapshot at media time `t_us` is due (first call: at t = 0 or
  // the first time offered; then every interval).
  bool due(int64_t t_us) const;
  // Scales `canvas` down to a thumbnail and keeps it with its time label.
  // Call when due() says so (other calls are taken too).
  Status add(const PictureView& canvas, int64_t t_us);
  int count() const { return static_cast<int>(thumbs_.size()); }
  // The grid as one image (a "no frames" image when empty).
  RgbImage render() const;
  Status write(const std::string& path) const { return write_png(path, render()); }

 private:
  struct Thumb {
    RgbImage image;
    int64_t t_us;
  };
  Config config_;
  std::vector<Thumb> thumbs_;
  int64_t next_due_us_ = INT64_MIN;
  ::SwsContext* sws_ = nullptr;
  int sws_w_ = 0, sws_h_ = 0, thumb_h_ = 0;
};

// Input of the timeline plot: plain time series, times in microseconds of
// media time from the start of the replay.
struct TimePoint {
  int64_t t_us;
  float value;
};
struct TimelineStream {
  std::string name;                      // row label
  std::vector<TimePoint> level_dbfs;     // e.g. one point per 20 ms frame; -inf/-200 = silence
  std::vector<TimePoint> jitter_delay_ms;  // jitter-buffer current delay
  // [start, end) intervals during which the stream was muted.
  std::vector<std::pair<int64_t, int64_t>> muted;
};
struct TimelineMarker {
  int64_t t_us;
  std::string label;  // e.g. "*", "6", "mute", "join P2"
  int stream = -1;    // row it belongs to, -1 = all rows
};
struct TimelineData {
  int64_t duration_us = 0;  // 0 = from the data
  std::vector<TimelineStream> streams;
  std::vector<TimelineMarker> markers;
};

// Layout of the rendered plot (exposed so tests can find regions).
struct TimelineLayout {
  int width = 1280;
  int left = 150;   // label column (row name, then the axis captions)
  int right = 16;
  int top = 28;     // title band
  int row_height = 120;
  int row_gap = 10;
  int axis_height = 36;
  // Within one row: level plot on top, a mute band, the delay plot under it.
  int mute_band_height = 10;
  int delay_height = 36;
};
inline constexpr float kTimelineMinDbfs = -80.f;
inline constexpr Rgb kTimelineMutedColour{220, 50, 47};
inline constexpr Rgb kTimelineUnmutedColour{60, 160, 80};
inline constexpr Rgb kTimelineLevelColour{60, 130, 230};
inline constexpr Rgb kTimelineDelayColour{230, 150, 30};
inline constexpr Rgb kTimelineMarkerColour{170, 60, 200};
inline constexpr Rgb kTimelineBackground{255, 255, 255};

RgbImage render_timeline(const TimelineData& data, const TimelineLayout& layout = {});
Status write_timeline_png(const std::string& path, const TimelineData& data,
                          const TimelineLayout& layout = {});

// "m:ss.s" for labels.
std::string format_media_time(int64_t t_us);

}  // namespace sipmix::replay
