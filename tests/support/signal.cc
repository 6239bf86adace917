#include "tests/support/signal.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace sipmix::testing {

std::vector<int16_t> sine(double freq_hz, double level_dbfs, int rate_hz, size_t n, double phase) {
  std::vector<int16_t> out(n);
  const double amp = 32767.0 * std::pow(10.0, level_dbfs / 20.0);
  for (size_t i = 0; i < n; ++i)
    out[i] = static_cast<int16_t>(std::lround(amp * std::sin(2 * std::numbers::pi * freq_hz * i / rate_hz + phase)));
  return out;
}

namespace {
template <typename T>
double goertzel_dbfs(std::span<const T> x, double freq_hz, int rate_hz, double full_scale) {
  const size_t n = x.size();
  if (n == 0) return -200;
  const double w = 2 * std::numbers::pi * freq_hz / rate_hz;
  const double coeff = 2 * std::cos(w);
  double s1 = 0, s2 = 0, wsum = 0;
  for (size_t i = 0; i < n; ++i) {
    const double win = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * i / (n - 1 ? n - 1 : 1));
    wsum += win;
    const double s0 = x[i] * win / full_scale + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  const double amp = 2 * std::sqrt(std::max(power, 0.0)) / wsum;  // peak amplitude of the component
  return amp > 0 ? 20 * std::log10(amp) : -200;
}
}  // namespace

double tone_dbfs(std::span<const int16_t> x, double f, int r) { return goertzel_dbfs(x, f, r, 32767.0); }
double tone_dbfs(std::span<const float> x, double f, int r) { return goertzel_dbfs(x, f, r, 1.0); }

double rms_dbfs(std::span<const int16_t> x) {
  if (x.empty()) return -200;
  double acc = 0;
  for (int16_t v : x) acc += static_cast<double>(v) * v;
  const double rms = std::sqrt(acc / x.size()) / 32767.0;
  return rms > 0 ? 20 * std::log10(rms) : -200;
}

double snr_db(std::span<const int16_t> ref, std::span<const int16_t> test, size_t max_delay, size_t* best_delay) {
  double best = -200;
  for (size_t d = 0; d <= max_delay; ++d) {
    if (d >= test.size()) break;
    const size_t n = std::min(ref.size(), test.size() - d);
    double rt = 0, rr = 0;
    for (size_t i = 0; i < n; ++i) {
      rt += static_cast<double>(ref[i]) * test[i + d];
      rr += static_cast<double>(ref[i]) * ref[i];
    }
    if (rr == 0) continue;
    const double g = rt / rr;
    double sig = 0, noise = 0;
    for (size_t i = 0; i < n; ++i) {
      const double s = g * ref[i];
      const double e = test[i + d] - s;
      sig += s * s;
      noise += e * e;
    }
    const double snr = noise > 0 ? 10 * std::log10(sig / noise) : 200;
    if (snr > best) {
      best = snr;
      if (best_delay) *best_delay = d;
    }
  }
  return best;
}

double psnr(const uint8_t* a, int as, const uint8_t* b, int bs, int w, int h) {
  double se = 0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double d = static_cast<double>(a[y * as + x]) - b[y * bs + x];
      se += d * d;
    }
  if (se == 0) return 99;
  return 10 * std::log10(255.0 * 255.0 * w * h / se);
}

}  // namespace sipmix::testing
