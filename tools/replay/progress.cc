#include "tools/replay/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "tools/replay/picture.h"

namespace sipmix::replay {
namespace {
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);
}

ProgressBar::ProgressBar(int64_t total_us) : ProgressBar(total_us, isatty(STDERR_FILENO) == 1) {}

ProgressBar::ProgressBar(int64_t total_us, bool enabled)
    : total_us_(std::max<int64_t>(total_us, 0)), enabled_(enabled), start_(std::chrono::steady_clock::now()),
      last_draw_(start_ - kRedrawInterval) {}

ProgressBar::~ProgressBar() { finish(); }

std::string ProgressBar::format_line(int64_t media_us, int64_t total_us, double speed, int bar_width) {
  std::string line;
  char buf[96];
  if (total_us > 0) {
    const double frac = std::clamp(static_cast<double>(media_us) / static_cast<double>(total_us), 0.0, 1.0);
    const int filled = static_cast<int>(frac * bar_width + 0.5);
    line = "[" + std::string(filled, '#') + std::string(bar_width - filled, '-') + "]";
    std::snprintf(buf, sizeof(buf), " %3d%%  ", static_cast<int>(frac * 100.0));
    line += buf;
    line += format_media_time(media_us) + " / " + format_media_time(total_us);
  } else {
    line = format_media_time(media_us);
  }
  std::snprintf(buf, sizeof(buf), "  %.1fx", speed);
  line += buf;
  return line;
}

void ProgressBar::draw(int64_t media_us) {
  const auto now = std::chrono::steady_clock::now();
  const double wall_s = std::chrono::duration<double>(now - start_).count();
  const double speed = wall_s > 1e-6 ? static_cast<double>(media_us) / 1e6 / wall_s : 0.0;
  const std::string line = format_line(media_us, total_us_, speed);
  std::fprintf(stderr, "\r%s\x1b[K", line.c_str());
  std::fflush(stderr);
  last_draw_ = now;
}

void ProgressBar::update(int64_t media_us) {
  last_media_us_ = media_us;
  if (!enabled_ || finished_) return;
  if (std::chrono::steady_clock::now() - last_draw_ < kRedrawInterval) return;
  draw(media_us);
}

void ProgressBar::finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  draw(last_media_us_);
  std::fputc('\n', stderr);
}

}  // namespace sipmix::replay
