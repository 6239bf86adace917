// Progress bar for long replays: percent, media time and speed (x real time),
// redrawn on stderr at most ~10 times a second, and only when stderr is a
// terminal (silent otherwise, so logs and pipes stay clean). Replay thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace sipmix::replay {

class ProgressBar {
 public:
  // `total_us`: media duration of the whole replay (0 = unknown: no percent).
  explicit ProgressBar(int64_t total_us);
  // Same, with the terminal check overridden (tests, --progress flags).
  ProgressBar(int64_t total_us, bool enabled);
  ~ProgressBar();

  // Media time reached; cheap when no redraw is due.
  void update(int64_t media_us);
  // Draws the final state and ends the line (once).
  void finish();
  bool enabled() const { return enabled_; }

  // The line as drawn, e.g. "[#####-----]  50%  0:05.0 / 0:10.0  12.3x".
  static std::string format_line(int64_t media_us, int64_t total_us, double speed, int bar_width = 30);

 private:
  void draw(int64_t media_us);
  int64_t total_us_;
  bool enabled_;
  bool finished_ = false;
  int64_t last_media_us_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace sipmix::replay
