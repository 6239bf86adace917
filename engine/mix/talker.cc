#include "mix/talker.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace sipmix::audio {

StatusOr<std::unique_ptr<TalkerDetector>> TalkerDetector::create(const TalkerConfig& c) {
  if (c.max_sources == 0 || c.max_sources > 4096) return invalid_argument("talker.max_sources must be in [1, 4096]");
  if (c.tick_ms <= 0 || c.tick_ms > 1000) return invalid_argument("talker.tick_ms must be in [1, 1000]");
  if (!(c.on_dbov <= 0.0f && c.on_dbov >= -127.0f)) return invalid_argument("talker.on_dbov must be in [-127, 0]");
  if (!(c.off_dbov <= c.on_dbov && c.off_dbov >= -127.0f))
    return invalid_argument("talker.off_dbov must be in [-127, on_dbov]");
  if (c.activate_ms < 0 || c.hang_ms < 0 || c.dominant_hold_ms < 0)
    return invalid_argument("talker.activate_ms, hang_ms and dominant_hold_ms must be >= 0");
  if (!(c.rise_ms > 0.0f) || !(c.fall_ms > 0.0f)) return invalid_argument("talker.rise_ms and fall_ms must be > 0");
  if (!(c.dominant_margin_db >= 0.0f)) return invalid_argument("talker.dominant_margin_db must be >= 0");
  return std::unique_ptr<TalkerDetector>(new TalkerDetector(c));
}

TalkerDetector::TalkerDetector(const TalkerConfig& c) : config_(c), sources_(c.max_sources) {
  rise_coef_ = static_cast<float>(1.0 - std::exp(-static_cast<double>(c.tick_ms) / c.rise_ms));
  fall_coef_ = static_cast<float>(1.0 - std::exp(-static_cast<double>(c.tick_ms) / c.fall_ms));
  auto ticks = [&](int ms) { return std::max(1, (ms + c.tick_ms - 1) / c.tick_ms); };
  activate_ticks_ = ticks(c.activate_ms);
  hang_ticks_ = ticks(c.hang_ms);
  dominant_hold_ticks_ = ticks(c.dominant_hold_ms);
  order_.reserve(c.max_sources);
  ranking_.reserve(c.max_sources);
}

int TalkerDetector::find(uint32_t id) const {
  for (size_t i = 0; i < sources_.size(); ++i)
    if (sources_[i].used && sources_[i].id == id) return static_cast<int>(i);
  return -1;
}

Status TalkerDetector::add_source(uint32_t source_id) {
  if (find(source_id) >= 0) return invalid_argument("source_id " + std::to_string(source_id) + " already registered");
  auto it = std::find_if(sources_.begin(), sources_.end(), [](const Source& s) { return !s.used; });
  if (it == sources_.end())
    return {StatusCode::kOutOfRange, "talker.max_sources (" + std::to_string(config_.max_sources) + ") reached"};
  *it = Source{};
  it->id = source_id;
  it->used = true;
  it->join_seq = ++join_seq_;
  rebuild_ranking();
  return {};
}

Status TalkerDetector::remove_source(uint32_t source_id) {
  const int slot = find(source_id);
  if (slot < 0) return not_found("source_id " + std::to_string(source_id) + " not registered");
  sources_[slot] = Source{};
  if (dominant_ == slot) dominant_ = -1;
  if (challenger_ == slot) challenger_ = -1, challenger_ticks_ = 0;
  rebuild_ranking();
  return {};
}

void TalkerDetector::update(uint32_t source_id, float level_dbov) {
  const int slot = find(source_id);
  if (slot < 0) return;
  sources_[slot].pending_dbov = std::clamp(level_dbov, kSilenceDbov, 0.0f);
}

float TalkerDetector::measure_dbov(std::span<const int16_t> frame) {
  if (frame.empty()) return kSilenceDbov;
  int64_t sum = 0;
  for (int16_t s : frame) sum += static_cast<int32_t>(s) * s;
  if (sum == 0) return kSilenceDbov;
  const double ms = static_cast<double>(sum) / static_cast<double>(frame.size());
  const double db = 10.0 * std::log10(ms / (32768.0 * 32768.0));
  return static_cast<float>(std::clamp(db, -127.0, 0.0));
}

void TalkerDetector::end_tick() {
  ++tick_;
  for (Source& s : sources_) {
    if (!s.used) continue;
    const float x = s.pending_dbov;
    s.pending_dbov = kSilenceDbov;
    s.smoothed_dbov += (x - s.smoothed_dbov) * (x > s.smoothed_dbov ? rise_coef_ : fall_coef_);
    s.above_ticks = s.smoothed_dbov >= config_.on_dbov ? s.above_ticks + 1 : 0;
    s.below_ticks = s.smoothed_dbov < config_.off_dbov ? s.below_ticks + 1 : 0;
    if (!s.active && s.above_ticks >= activate_ticks_) {
      s.active = true;
      s.last_activation = tick_;
    } else if (s.active && s.below_ticks >= hang_ticks_) {
      s.active = false;
    }
    if (s.active) s.last_active = tick_;
  }

  // Dominant speaker, with its own hysteresis (margin and hold).
  int loudest = -1;
  for (size_t i = 0; i < sources_.size(); ++i) {
    const Source& s = sources_[i];
    if (s.used && s.active && (loudest < 0 || s.smoothed_dbov > sources_[loudest].smoothed_dbov))
      loudest = static_cast<int>(i);
  }
  if (dominant_ < 0 || !sources_[dominant_].active) {
    dominant_ = loudest;
    challenger_ = -1;
    challenger_ticks_ = 0;
  } else if (loudest >= 0 && loudest != dominant_ &&
             sources_[loudest].smoothed_dbov >= sources_[dominant_].smoothed_dbov + config_.dominant_margin_db) {
    challenger_ticks_ = challenger_ == loudest ? challenger_ticks_ + 1 : 1;
    challenger_ = loudest;
    if (challenger_ticks_ >= dominant_hold_ticks_) {
      dominant_ = loudest;
      challenger_ = -1;
      challenger_ticks_ = 0;
    }
  } else {
    challenger_ = -1;
    challenger_ticks_ = 0;
  }
  rebuild_ranking();
}

void TalkerDetector::rebuild_ranking() {
  order_.clear();
  for (size_t i = 0; i < sources_.size(); ++i)
    if (sources_[i].used) order_.push_back(static_cast<int>(i));
  // Rank keys change only on activity transitions, never with level, so
  // the order holds still while the same people keep talking.
  std::sort(order_.begin(), order_.end(), [&](int a, int b) {
    if ((a == dominant_) != (b == dominant_)) return a == dominant_;
    const Source& x = sources_[a];
    const Source& y = sources_[b];
    if (x.last_active != y.last_active) return x.last_active > y.last_active;
    if (x.last_activation != y.last_activation) return x.last_activation > y.last_activation;
    return x.join_seq < y.join_seq;
  });
  ranking_.clear();
  for (int i : order_) ranking_.push_back(sources_[i].id);
}

std::optional<uint32_t> TalkerDetector::dominant() const {
  if (dominant_ < 0) return std::nullopt;
  return sources_[dominant_].id;
}

bool TalkerDetector::is_active(uint32_t source_id) const {
  const int slot = find(source_id);
  return slot >= 0 && sources_[slot].active;
}

float TalkerDetector::smoothed_dbov(uint32_t source_id) const {
  const int slot = find(source_id);
  return slot >= 0 ? sources_[slot].smoothed_dbov : kSilenceDbov;
}

}  // namespace sipmix::audio
