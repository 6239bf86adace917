#include "mix/mixer.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace sipmix::audio {
namespace {

// A candidate for sharing is compared with at most this many group leaders,
// which bounds the per-tick cost at O(N) even when every state differs.
constexpr size_t kMaxLeaderCompares = 8;

}  // namespace

StatusOr<std::unique_ptr<NMinus1Mixer>> NMinus1Mixer::create(const MixerConfig& config, const simd::MixDsp* dsp) {
  if (config.max_sources == 0 || config.max_sources > 4096)
    return invalid_argument("mixer.max_sources must be in [1, 4096]");
  if (config.max_outputs == 0 || config.max_outputs > 4096)
    return invalid_argument("mixer.max_outputs must be in [1, 4096]");
  if (config.limiter.sample_rate_hz != kMixSampleRateHz)
    return invalid_argument("mixer.limiter.sample_rate_hz must be 48000 (the mix rate)");
  if (Status s = Limiter::validate(config.limiter, kMixFrameSamples); !s.ok()) return s;
  return std::unique_ptr<NMinus1Mixer>(new NMinus1Mixer(config, dsp ? *dsp : simd::mix_dsp()));
}

NMinus1Mixer::NMinus1Mixer(const MixerConfig& config, const simd::MixDsp& dsp)
    : config_(config), dsp_(&dsp), sources_(config.max_sources), total_(kMixFrameSamples) {
  outputs_.reserve(config.max_outputs);
  for (size_t i = 0; i < config.max_outputs; ++i) outputs_.emplace_back(config.limiter, dsp);
  source_index_.reserve(config.max_sources);
  output_index_.reserve(config.max_outputs);
  leaders_.reserve(config.max_outputs);
  followers_.reserve(config.max_outputs);
}

int NMinus1Mixer::find(const std::vector<IdSlot>& index, uint32_t id) const {
  auto it = std::lower_bound(index.begin(), index.end(), id, [](const IdSlot& e, uint32_t v) { return e.id < v; });
  return it != index.end() && it->id == id ? it->slot : -1;
}

void NMinus1Mixer::insert(std::vector<IdSlot>& index, uint32_t id, int slot) {
  auto it = std::lower_bound(index.begin(), index.end(), id, [](const IdSlot& e, uint32_t v) { return e.id < v; });
  index.insert(it, IdSlot{id, slot});  // capacity reserved at construction
}

void NMinus1Mixer::erase(std::vector<IdSlot>& index, uint32_t id) {
  auto it = std::lower_bound(index.begin(), index.end(), id, [](const IdSlot& e, uint32_t v) { return e.id < v; });
  if (it != index.end() && it->id == id) index.erase(it);
}

void NMinus1Mixer::resolve_own() {
  for (Output& o : outputs_)
    if (o.used) o.own_slot = o.own_id == kNoSource ? -1 : find(source_index_, o.own_id);
}

Status NMinus1Mixer::add_source(uint32_t source_id) {
  if (source_id == kNoSource) return invalid_argument("source_id 0xFFFFFFFF is reserved");
  if (find(source_index_, source_id) >= 0)
    return invalid_argument("source_id " + std::to_string(source_id) + " already registered");
  auto it = std::find_if(sources_.begin(), sources_.end(), [](const Source& s) { return !s.used; });
  if (it == sources_.end())
    return {StatusCode::kOutOfRange, "mixer.max_sources (" + std::to_string(config_.max_sources) + ") reached"};
  *it = Source{source_id, true, false, nullptr};
  insert(source_index_, source_id, static_cast<int>(it - sources_.begin()));
  resolve_own();
  return {};
}

Status NMinus1Mixer::remove_source(uint32_t source_id) {
  const int slot = find(source_index_, source_id);
  if (slot < 0) return not_found("source_id " + std::to_string(source_id) + " not registered");
  sources_[slot] = Source{};
  erase(source_index_, source_id);
  resolve_own();
  return {};
}

Status NMinus1Mixer::set_source_muted(uint32_t source_id, bool muted) {
  const int slot = find(source_index_, source_id);
  if (slot < 0) return not_found("source_id " + std::to_string(source_id) + " not registered");
  sources_[slot].muted = muted;
  return {};
}

Status NMinus1Mixer::add_output(uint32_t output_id, uint32_t own_source_id) {
  if (output_id == kNoSource) return invalid_argument("output_id 0xFFFFFFFF is reserved");
  if (find(output_index_, output_id) >= 0)
    return invalid_argument("output_id " + std::to_string(output_id) + " already registered");
  auto it = std::find_if(outputs_.begin(), outputs_.end(), [](const Output& o) { return !o.used; });
  if (it == outputs_.end())
    return {StatusCode::kOutOfRange, "mixer.max_outputs (" + std::to_string(config_.max_outputs) + ") reached"};
  it->id = output_id;
  it->used = true;
  it->own_id = own_source_id;
  it->private_frame = nullptr;
  it->limiter.reset();
  std::fill_n(it->out.data(), kMixFrameSamples, int16_t{0});
  it->result = it->out.data();
  it->leader = -1;
  insert(output_index_, output_id, static_cast<int>(it - outputs_.begin()));
  resolve_own();
  return {};
}

Status NMinus1Mixer::remove_output(uint32_t output_id) {
  const int slot = find(output_index_, output_id);
  if (slot < 0) return not_found("output_id " + std::to_string(output_id) + " not registered");
  Output& o = outputs_[slot];
  o.used = false;
  o.leader = -1;
  erase(output_index_, output_id);
  // A follower of this output must not point at its buffer any more.
  for (Output& f : outputs_) {
    if (f.used && f.leader == slot) {
      std::memcpy(f.out.data(), o.result, kMixFrameSamples * sizeof(int16_t));
      f.result = f.out.data();
      f.leader = -1;
    }
  }
  return {};
}

Status NMinus1Mixer::set_source_frame(uint32_t source_id, const int16_t* frame) {
  const int slot = find(source_index_, source_id);
  if (slot < 0) return not_found("source_id " + std::to_string(source_id) + " not registered");
  sources_[slot].frame = frame;
  return {};
}

Status NMinus1Mixer::set_private_frame(uint32_t output_id, const int16_t* frame) {
  const int slot = find(output_index_, output_id);
  if (slot < 0) return not_found("output_id " + std::to_string(output_id) + " not registered");
  outputs_[slot].private_frame = frame;
  return {};
}

void NMinus1Mixer::mix() {
  constexpr size_t n = kMixFrameSamples;
  int32_t* total = total_.data();
  stats_ = MixStats{};

  // One accumulation over every included source.
  std::memset(total, 0, n * sizeof(int32_t));
  for (Source& s : sources_) {
    if (s.used && s.frame && !s.muted) {
      dsp_->mix_accumulate_s16(total, s.frame, n);
      ++stats_.sources_mixed;
    }
  }

  // Classify before any limiter runs: outputs whose input is exactly the
  // total and whose limiter state is identical produce identical frames.
  leaders_.clear();
  followers_.clear();
  for (size_t k = 0; k < outputs_.size(); ++k) {
    Output& o = outputs_[k];
    if (!o.used) continue;
    o.leader = -1;
    const Source* own = o.own_slot >= 0 ? &sources_[o.own_slot] : nullptr;
    const bool own_included = own && own->frame && !own->muted;
    if (own_included || o.private_frame) continue;
    const size_t compares = std::min(leaders_.size(), kMaxLeaderCompares);
    for (size_t l = 0; l < compares; ++l) {
      if (o.limiter.same_state(outputs_[leaders_[l]].limiter)) {
        o.leader = leaders_[l];
        break;
      }
    }
    if (o.leader >= 0)
      followers_.push_back(static_cast<int>(k));
    else
      leaders_.push_back(static_cast<int>(k));
  }

  for (Output& o : outputs_) {
    if (!o.used || o.leader >= 0) continue;
    int32_t* in = o.limiter.input();
    const Source* own = o.own_slot >= 0 ? &sources_[o.own_slot] : nullptr;
    if (own && own->frame && !own->muted)
      dsp_->mix_sub_s16(in, total, own->frame, n);
    else
      std::memcpy(in, total, n * sizeof(int32_t));
    if (o.private_frame) dsp_->mix_accumulate_s16(in, o.private_frame, n);
    o.limiter.process(o.out.data());
    o.result = o.out.data();
    ++stats_.limiter_passes;
  }

  for (int k : followers_) {
    Output& o = outputs_[k];
    const Output& l = outputs_[o.leader];
    o.limiter.copy_state_from(l.limiter);
    o.result = l.out.data();
    ++stats_.shared_outputs;
  }

  for (Source& s : sources_) s.frame = nullptr;
  for (Output& o : outputs_) o.private_frame = nullptr;
}

std::span<const int16_t> NMinus1Mixer::output(uint32_t output_id) const {
  const int slot = find(output_index_, output_id);
  if (slot < 0) return {};
  return {outputs_[slot].result, kMixFrameSamples};
}

uint32_t NMinus1Mixer::mix_group(uint32_t output_id) const {
  const int slot = find(output_index_, output_id);
  if (slot < 0) return kNoSource;
  const Output& o = outputs_[slot];
  return o.leader >= 0 ? outputs_[o.leader].id : o.id;
}

size_t NMinus1Mixer::delay_samples() const { return outputs_.front().limiter.delay_samples(); }

double NMinus1Mixer::limiter_release_time_ms() const { return outputs_.front().limiter.release_time_ms(); }

}  // namespace sipmix::audio
