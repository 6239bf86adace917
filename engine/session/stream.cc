// A participant's stream: building its input pipeline, the push side, stats.
#include "session/stream.h"

#include <cctype>
#include <string_view>

#include "rtp/rtcp.h"
#include "rtp/rtp_packet.h"

#include "session/codec_map.h"
#include "session/common.h"

namespace sipmix::session {

namespace {

bool valid_rid(const std::string& rid) {
  if (rid.empty() || rid.size() > 16) return false;
  for (char c : rid)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}

Status validate_simulcast(const std::vector<SimulcastLayer>& layers, uint8_t rid_ext_id) {
  if (layers.empty()) return Status{};
  if (layers.size() < 2 || layers.size() > static_cast<size_t>(kMaxSimulcastLayers))
    return invalid_argument("stream.simulcast: 2.." + std::to_string(kMaxSimulcastLayers) + " layers, or none");
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string field = "stream.simulcast[" + std::to_string(i) + "]";
    if (layers[i].ssrc == 0 && layers[i].rid.empty()) return invalid_argument(field + ": needs an ssrc or a rid");
    if (!layers[i].rid.empty() && !valid_rid(layers[i].rid))
      return invalid_argument(field + ".rid: 1..16 letters, digits, '-' or '_'");
    if (!layers[i].rid.empty() && rid_ext_id == 0)
      return invalid_argument("stream.rid_ext_id: layers known by rid need the rtp-stream-id extension's id");
    for (size_t j = 0; j < i; ++j) {
      if (layers[i].ssrc != 0 && layers[j].ssrc == layers[i].ssrc)
        return invalid_argument(field + ".ssrc: repeats layer " + std::to_string(j) + "'s");
      if (!layers[i].rid.empty() && layers[j].rid == layers[i].rid)
        return invalid_argument(field + ".rid: repeats layer " + std::to_string(j) + "'s");
    }
    const bool unknown = layers[i].width == 0 && layers[i].height == 0;
    if (!unknown && (layers[i].width < 16 || layers[i].width > 4096 || layers[i].height < 16 || layers[i].height > 4096))
      return invalid_argument(field + ": width and height must be 16..4096, or both 0 (learned from the stream)");
  }
  return Status{};
}

}  // namespace

StatusOr<std::unique_ptr<Stream>> build_stream(const StreamConfig& c, const SessionConfig& session, int slot,
                                               uint64_t join_order) {
  auto s = std::make_unique<Stream>();
  s->config = c;
  if (s->config.participant.empty()) s->config.participant = c.id;
  s->slot = slot;
  s->join_order = join_order;
  s->sender_ssrc = make_ssrc(c.id, 7);
  s->rtcp_queue = std::make_unique<SpscPacketQueue>(16, kMaxPacket);
  if (c.kind == MediaKind::kAudio) {
    if (!c.simulcast.empty()) return invalid_argument("stream.simulcast: only a video stream has simulcast layers");
    AudioInputConfig ac;
    ac.codec = to_engine(c.audio_codec);
    ac.payload_type = c.payload_type;
    ac.audio_level_ext_id = c.audio_level_ext_id;
    ac.skip_silent_decode = session.skip_silent_decode;
    ac.resampler_quality = session.resampler_quality;
    ac.min_delay_ms = session.jitter_min_delay_ms;
    ac.max_delay_ms = session.jitter_max_delay_ms;
    auto in = AudioInput::create(ac);
    if (!in.ok()) return Status(in.status().code(), "stream \"" + c.id + "\": " + in.status().message());
    s->audio = std::move(*in);
  } else {
    if (c.video_codec == VideoCodec::kNone) return invalid_argument("stream.video_codec: a video stream needs vp8 or h264");
    if (Status st = validate_simulcast(c.simulcast, c.rid_ext_id); !st.ok()) return st;
    s->layer_count = c.simulcast.empty() ? 1 : static_cast<int>(c.simulcast.size());
    for (size_t i = 0; i < c.simulcast.size(); ++i) s->layer_ssrcs[i] = c.simulcast[i].ssrc;
    for (int i = 0; i < s->layer_count; ++i) {
      auto in = VideoInput::create(to_engine(c.video_codec), c.payload_type, session.jitter_max_delay_ms);
      if (!in.ok()) return Status(in.status().code(), "stream \"" + c.id + "\": " + in.status().message());
      s->layers[static_cast<size_t>(i)] = std::move(*in);
    }
    s->layer_info = c.simulcast;
    s->shown_layer = c.simulcast.empty() ? 0 : choose_simulcast_layer(c.simulcast, 0, 0);
    s->video = s->layers[static_cast<size_t>(s->shown_layer)].get();
  }
  return s;
}

int choose_simulcast_layer(std::span<const SimulcastLayer> layers, int tile_w, int tile_h, unsigned usable) {
  const int n = static_cast<int>(layers.size());
  if ((usable & ((1u << n) - 1)) == 0) usable = ~0u;
  int best = -1, largest = -1;
  auto area = [&](int i) { return int64_t{layers[static_cast<size_t>(i)].width} * layers[static_cast<size_t>(i)].height; };
  // A layer of unknown size (0 x 0) covers nothing and ranks above every
  // known one, the later of two unknown ones first.
  auto larger = [&](int i, int than) {
    if (area(i) == 0 || area(than) == 0) return area(i) == 0;
    return area(i) > area(than);
  };
  for (int i = 0; i < n; ++i) {
    if (!(usable >> i & 1u)) continue;
    if (largest < 0 || larger(i, largest)) largest = i;
    const SimulcastLayer& l = layers[static_cast<size_t>(i)];
    const bool covers = tile_w > 0 && tile_h > 0 && area(i) > 0 && l.width >= tile_w && l.height >= tile_h;
    if (covers && (best < 0 || area(i) < area(best))) best = i;
  }
  return best >= 0 ? best : largest;
}

void Stream::receive_rtp(std::span<const uint8_t> packet, int64_t now_us) {
  if (audio) {
    (void)audio->insert(packet, now_us);
  } else if (layer_count == 1) {
    (void)layers[0]->insert(packet, now_us);
  } else if (packet.size() >= 12) {
    // Simulcast: the layer is the packet's SSRC, configured or learned from
    // a packet that carried the layer's rid.
    const uint32_t ssrc = uint32_t{packet[8]} << 24 | uint32_t{packet[9]} << 16 | uint32_t{packet[10]} << 8 | packet[11];
    int layer = -1;
    for (int i = 0; i < layer_count && layer < 0; ++i)
      if (ssrc != 0 && layer_ssrcs[static_cast<size_t>(i)] == ssrc) layer = i;
    if (layer < 0 && config.rid_ext_id != 0) layer = learn_layer_by_rid(packet, ssrc);
    if (layer >= 0) (void)layers[static_cast<size_t>(layer)]->insert(packet, now_us);
  }
}

int Stream::learn_layer_by_rid(std::span<const uint8_t> packet, uint32_t ssrc) {
  const auto v = rtp::parse_rtp(packet);
  if (!v) return -1;
  const auto rid = rtp::find_header_extension(*v, config.rid_ext_id);
  if (!rid) return -1;
  const std::string_view got(reinterpret_cast<const char*>(rid->data()), rid->size());
  for (int i = 0; i < layer_count; ++i)
    if (config.simulcast[static_cast<size_t>(i)].rid == got) {
      layer_ssrcs[static_cast<size_t>(i)] = ssrc;  // a new SSRC for the rid replaces the old one
      return i;
    }
  return -1;
}

void Stream::receive_rtcp(std::span<const uint8_t> packet, int64_t now_us) {
  (void)rtcp_queue->try_push(packet, now_us);
}

void Stream::pull_audio(int64_t t_us, StageTimer& timer, audio::NMinus1Mixer& mixer,
                        audio::TalkerDetector& talkers) {
  const int64_t t0 = timer.mark();
  has_frame = audio->pull(t_us, &timer);
  timer.add(Stage::kAudioIn, t0);
  const uint32_t id = static_cast<uint32_t>(slot);
  if (has_frame) (void)mixer.set_source_frame(id, audio->frame());
  talkers.update(id, has_frame && !muted ? audio->level_dbov() : audio::TalkerDetector::kSilenceDbov);
}

void Stream::decode_video(int64_t t_us, StageTimer& timer, SessionSink& sink, bool shown, int tile_w, int tile_h,
                          bool choose_layer) {
  if (layer_count > 1 && shown) {
    // Layers that have gone silent are passed over (all count before any
    // packet has come, and when every layer is silent).
    unsigned flowing = 0;
    for (int i = 0; i < layer_count; ++i) {
      const VideoInput& in = *layers[static_cast<size_t>(i)];
      const int64_t last = in.last_packet_us();
      if (last >= 0 && t_us - last <= kSimulcastLayerSilenceUs) flowing |= 1u << i;
      // The size the layer's own pictures give, when they have given one.
      SimulcastLayer& info = layer_info[static_cast<size_t>(i)];
      if (in.picture_width() > 0) info.width = in.picture_width(), info.height = in.picture_height();
    }
    const int target = choose_layer ? choose_simulcast_layer(layer_info, tile_w, tile_h, flowing)
                                    : choose_simulcast_layer(layer_info, 0, 0, flowing);
    if (target == shown_layer) {
      pending_layer = -1;
    } else if (video->last_frame_us() < 0) {
      // Nothing on screen yet from the old layer: nothing to keep.
      shown_layer = target;
      video = layers[static_cast<size_t>(target)].get();
      pending_layer = -1;
    } else if (target != pending_layer) {
      pending_layer = target;
      pending_from_frames = layers[static_cast<size_t>(target)]->decoder_stats().frames_decoded;
    }
  }
  const int64_t t0 = timer.mark();
  for (int i = 0; i < layer_count; ++i) {
    VideoInput& in = *layers[static_cast<size_t>(i)];
    const bool decode = shown && (i == shown_layer || i == pending_layer);
    if (in.process(t_us, &timer, decode)) send_pli(in.ssrc(), t_us, sink);
  }
  timer.add(Stage::kVideoIn, t0);
  if (pending_layer >= 0 &&
      layers[static_cast<size_t>(pending_layer)]->decoder_stats().frames_decoded > pending_from_frames) {
    // The new layer has a picture: it goes on screen, the old one stops.
    shown_layer = pending_layer;
    video = layers[static_cast<size_t>(shown_layer)].get();
    pending_layer = -1;
    ++layer_switches;
  }
}

void Stream::send_pli(uint32_t media_ssrc, int64_t t_us, SessionSink& sink) {
  uint8_t buf[64];
  rtp::Pli pli;
  pli.sender_ssrc = sender_ssrc;
  pli.media_ssrc = media_ssrc;
  const size_t n = rtp::write_pli(pli, buf);
  if (n) sink.on_rtcp(config.id, Direction::kToStream, {buf, n});
  Event e;
  e.type = Event::Type::kKeyframeRequest;
  e.time_us = t_us;
  e.id = config.id;
  sink.on_event(e);
}

void Stream::set_muted(bool muted_now, audio::NMinus1Mixer& mixer) {
  muted = muted_now;
  if (audio) (void)mixer.set_source_muted(static_cast<uint32_t>(slot), muted);
}

void Stream::drain_rtcp() {
  uint8_t buf[kMaxPacket];
  while (rtcp_queue->try_pop(buf)) {
  }
}

StreamStats Stream::stats() const {
  StreamStats st;
  st.id = config.id;
  // Simulcast: the packet counts of every layer, the delays of the one shown.
  const JitterStats j = audio ? audio->jitter_stats() : video->jitter_stats();
  for (int i = 0; i < (audio ? 1 : layer_count); ++i) {
    const JitterStats l = audio ? j : layers[static_cast<size_t>(i)]->jitter_stats();
    st.received += l.received;
    st.lost += l.lost > 0 ? static_cast<uint64_t>(l.lost) : 0;
    st.late += l.late;
    st.duplicate += l.duplicate;
    st.reordered += l.reordered;
    st.discarded += l.discarded;
  }
  st.jitter_ms = j.jitter_ms;
  st.current_delay_ms = j.current_delay_ms;
  st.target_delay_ms = j.target_delay_ms;
  if (audio) {
    st.concealed_frames = audio->codec_stats().frames_concealed;
    st.decoded_frames = audio->codec_stats().frames_decoded;
    st.decode_errors = audio->codec_stats().decode_errors;
    st.level_dbfs = audio->level_dbov();
    const AccelerateStats& a = audio->accelerate_stats();
    st.accelerate_ops = a.ops;
    st.accelerated_ms = a.removed_samples * 1000 / audio::kMixSampleRateHz;
    st.playout_delay_ms = a.playout_delay_ms;
    st.skipped_silent = audio->skipped_silent();
  } else {
    for (int i = 0; i < layer_count; ++i) {
      const VideoInput& in = *layers[static_cast<size_t>(i)];
      st.layer_decoded_frames[static_cast<size_t>(i)] = in.decoder_stats().frames_decoded;
      st.decoded_frames += in.decoder_stats().frames_decoded;
      st.decode_errors += in.decoder_stats().decode_errors;
      st.unchanged_frames += in.decoder_stats().unchanged_frames;
      st.frames_not_shown += in.frames_not_decoded();
      st.switches += in.resumes();
      st.keyframe_requests += in.keyframe_requests_sent();
    }
    const int64_t lat = video->last_resume_latency_us();
    st.switch_latency_ms = lat < 0 ? -1 : static_cast<int>(lat / 1000);
    if (layer_count > 1) {
      st.layer_width = layer_info[static_cast<size_t>(shown_layer)].width;
      st.layer_height = layer_info[static_cast<size_t>(shown_layer)].height;
    }
    st.layer_switches = layer_switches;
  }
  return st;
}

}  // namespace sipmix::session
