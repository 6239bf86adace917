#include "tools/replay/media_writer.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <deque>
#include <filesystem>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/mem.h>
}

namespace sipmix::replay {
namespace {

constexpr AVRational kMicros{1, 1'000'000};
constexpr size_t kMaxBufferedAudio = 3000;  // 60 s of 20 ms frames waiting for the first keyframe

std::string av_error(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof(buf));
  return buf;
}

AVCodecID audio_codec_id(AudioOutCodec c) {
  switch (c) {
    case AudioOutCodec::kPcmu: return AV_CODEC_ID_PCM_MULAW;
    case AudioOutCodec::kPcma: return AV_CODEC_ID_PCM_ALAW;
    case AudioOutCodec::kG722: return AV_CODEC_ID_ADPCM_G722;
    case AudioOutCodec::kOpus: return AV_CODEC_ID_OPUS;
    case AudioOutCodec::kPcmS16: return AV_CODEC_ID_PCM_S16LE;
    case AudioOutCodec::kNone: break;
  }
  return AV_CODEC_ID_NONE;
}

AVCodecID video_codec_id(VideoOutCodec c) {
  switch (c) {
    case VideoOutCodec::kH264: return AV_CODEC_ID_H264;
    case VideoOutCodec::kVp8: return AV_CODEC_ID_VP8;
    case VideoOutCodec::kNone: break;
  }
  return AV_CODEC_ID_NONE;
}

// Start of the next Annex B start code at or after `i` (returns n if none);
// `sc_len` gets its length (3 or 4).
size_t find_start_code(std::span<const uint8_t> d, size_t i, size_t* sc_len) {
  for (; i + 3 <= d.size(); ++i) {
    if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1) {
      if (i > 0 && d[i - 1] == 0) {
        *sc_len = 4;
        return i - 1;
      }
      *sc_len = 3;
      return i;
    }
  }
  *sc_len = 0;
  return d.size();
}

}  // namespace

const char* audio_out_codec_name(AudioOutCodec c) {
  return c == AudioOutCodec::kNone ? "none" : avcodec_get_name(audio_codec_id(c));
}
const char* video_out_codec_name(VideoOutCodec c) {
  return c == VideoOutCodec::kNone ? "none" : avcodec_get_name(video_codec_id(c));
}

std::vector<uint8_t> h264_parameter_sets(std::span<const uint8_t> au) {
  std::vector<uint8_t> sps, pps;
  size_t sc = 0;
  size_t pos = find_start_code(au, 0, &sc);
  while (pos < au.size()) {
    const size_t nal = pos + sc;
    size_t next_sc = 0;
    size_t next = find_start_code(au, nal, &next_sc);
    if (nal < next) {
      const int type = au[nal] & 0x1f;
      std::vector<uint8_t>* dst = type == 7 ? &sps : type == 8 ? &pps : nullptr;
      if (dst && dst->empty()) {
        static constexpr uint8_t kStart[4] = {0, 0, 0, 1};
        dst->assign(kStart, kStart + 4);
        dst->insert(dst->end(), au.begin() + nal, au.begin() + next);
      }
    }
    pos = next;
    sc = next_sc;
  }
  if (sps.empty() || pps.empty()) return {};
  sps.insert(sps.end(), pps.begin(), pps.end());
  return sps;
}

struct MediaWriter::Impl {
  MediaWriterConfig config;
  std::string part;
  AVFormatContext* ctx = nullptr;
  int video_stream = -1, audio_stream = -1;
  bool header_written = false;
  bool need_parameter_sets = false;  // H.264: header waits for SPS/PPS
  std::deque<AVPacket*> held;        // audio waiting for the header
  int64_t last_dts[2] = {INT64_MIN, INT64_MIN};
  AVPacket* pkt = nullptr;

  ~Impl() { close(true); }

  void close(bool remove_file) {
    for (AVPacket* p : held) av_packet_free(&p);
    held.clear();
    av_packet_free(&pkt);
    if (ctx) {
      if (!(ctx->oformat->flags & AVFMT_NOFILE)) avio_closep(&ctx->pb);
      avformat_free_context(ctx);
      ctx = nullptr;
      if (remove_file) {
        std::error_code ec;
        std::filesystem::remove(part, ec);
      }
    }
  }
};

MediaWriter::MediaWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MediaWriter::~MediaWriter() = default;

StatusOr<std::unique_ptr<MediaWriter>> MediaWriter::create(const MediaWriterConfig& config) {
  const std::string& path = config.path;
  if (path.empty()) return invalid_argument("output path is empty");
  if (config.video == VideoOutCodec::kNone && config.audio == AudioOutCodec::kNone) {
    return invalid_argument(path + ": neither video nor audio configured");
  }
  if (config.video != VideoOutCodec::kNone &&
      (config.width <= 0 || config.height <= 0 || config.width > 16384 || config.height > 16384)) {
    return invalid_argument(path + ": video width/height must be in 1..16384");
  }
  if (config.audio != AudioOutCodec::kNone) {
    if (config.channels < 1 || config.channels > 8) return invalid_argument(path + ": channels must be 1..8");
    if (config.sample_rate_hz < 1000 || config.sample_rate_hz > 192000) {
      return invalid_argument(path + ": sample_rate_hz must be in 1000..192000");
    }
  }
  const AVOutputFormat* ofmt = av_guess_format(nullptr, path.c_str(), nullptr);
  if (!ofmt || std::filesystem::path(path).extension().empty()) ofmt = av_guess_format("matroska", nullptr, nullptr);
  if (!ofmt) return unavailable(path + ": libavformat has no muxer for this file type");

  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->part = path + ".part";
  impl->pkt = av_packet_alloc();
  int err = avformat_alloc_output_context2(&impl->ctx, ofmt, nullptr, impl->part.c_str());
  if (err < 0 || !impl->pkt) return unavailable(path + ": cannot set up the muxer (" + av_error(err) + ")");

  // Matroska also takes any audio codec with a WAVE tag (as A_MS/ACM), which
  // avformat_query_codec does not report: G.711 and G.722 go that way.
  const bool matroska = std::strcmp(ofmt->name, "matroska") == 0;
  const AVCodecTag* const riff_audio[] = {avformat_get_riff_audio_tags(), nullptr};
  auto supported = [&](AVCodecID id) {
    const int known = avformat_query_codec(ofmt, id, FF_COMPLIANCE_NORMAL);
    if (known != 0) return true;  // 1 = yes; < 0 = the muxer cannot tell (ogg): try it
    return matroska && av_codec_get_tag(riff_audio, id) != 0;
  };
  if (config.video != VideoOutCodec::kNone) {
    const AVCodecID id = video_codec_id(config.video);
    if (!supported(id)) {
      return invalid_argument(path + ": container " + ofmt->name + " cannot hold " + avcodec_get_name(id) +
                              " video");
    }
    AVStream* st = avformat_new_stream(impl->ctx, nullptr);
    if (!st) return Status(StatusCode::kInternal, path + ": out of memory");
    st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
    st->codecpar->codec_id = id;
    st->codecpar->width = config.width;
    st->codecpar->height = config.height;
    st->codecpar->format = AV_PIX_FMT_YUV420P;
    st->time_base = {1, 90000};
    if (config.frame_rate > 0) st->avg_frame_rate = st->r_frame_rate = {config.frame_rate, 1};
    impl->video_stream = st->index;
    impl->need_parameter_sets = config.video == VideoOutCodec::kH264;
  }
  if (config.audio != AudioOutCodec::kNone) {
    const AVCodecID id = audio_codec_id(config.audio);
    if (!supported(id)) {
      return invalid_argument(path + ": container " + ofmt->name + " cannot hold " + avcodec_get_name(id) +
                              " audio");
    }
    AVStream* st = avformat_new_stream(impl->ctx, nullptr);
    if (!st) return Status(StatusCode::kInternal, path + ": out of memory");
    AVCodecParameters* par = st->codecpar;
    par->codec_type = AVMEDIA_TYPE_AUDIO;
    par->codec_id = id;
    par->sample_rate = config.sample_rate_hz;
    av_channel_layout_default(&par->ch_layout, config.channels);
    switch (config.audio) {
      case AudioOutCodec::kPcmu:
      case AudioOutCodec::kPcma:
        par->bits_per_coded_sample = 8;
        par->block_align = config.channels;
        break;
      case AudioOutCodec::kG722:
        par->sample_rate = 16000;  // G.722 runs at 16 kHz whatever its RTP clock says
        par->bits_per_coded_sample = 4;
        par->block_align = config.channels;
        break;
      case AudioOutCodec::kPcmS16:
        par->bits_per_coded_sample = 16;
        par->block_align = 2 * config.channels;
        break;
      case AudioOutCodec::kOpus: {
        if (config.channels > 2) return invalid_argument(path + ": Opus passthrough supports 1 or 2 channels");
        par->sample_rate = 48000;
        par->initial_padding = config.opus_pre_skip;
        // RFC 7845 identification header, mapping family 0.
        uint8_t head[19] = {'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, static_cast<uint8_t>(config.channels)};
        head[10] = static_cast<uint8_t>(config.opus_pre_skip);
        head[11] = static_cast<uint8_t>(config.opus_pre_skip >> 8);
        const uint32_t rate = 48000;
        head[12] = static_cast<uint8_t>(rate);
        head[13] = static_cast<uint8_t>(rate >> 8);
        head[14] = static_cast<uint8_t>(rate >> 16);
        head[15] = static_cast<uint8_t>(rate >> 24);
        par->extradata = static_cast<uint8_t*>(av_mallocz(sizeof(head) + AV_INPUT_BUFFER_PADDING_SIZE));
        if (!par->extradata) return Status(StatusCode::kInternal, path + ": out of memory");
        std::memcpy(par->extradata, head, sizeof(head));
        par->extradata_size = sizeof(head);
        break;
      }
      case AudioOutCodec::kNone:
        break;
    }
    st->time_base = {1, par->sample_rate};
    impl->audio_stream = st->index;
  }

  if (!(ofmt->flags & AVFMT_NOFILE)) {
    err = avio_open(&impl->ctx->pb, impl->part.c_str(), AVIO_FLAG_WRITE);
    if (err < 0) {
      avformat_free_context(impl->ctx);
      impl->ctx = nullptr;
      return unavailable(path + ": cannot create file (" + av_error(err) + ")");
    }
  }
  std::unique_ptr<MediaWriter> w(new MediaWriter(std::move(impl)));
  if (!w->impl_->need_parameter_sets) {
    Status st = w->start("");
    if (!st.ok()) return st;
  }
  return w;
}

Status MediaWriter::start(const std::string& why) {
  Impl& im = *impl_;
  const int err = avformat_write_header(im.ctx, nullptr);
  if (err < 0) return unavailable(im.config.path + ": cannot write the header" + why + " (" + av_error(err) + ")");
  im.header_written = true;
  while (!im.held.empty()) {
    AVPacket* p = im.held.front();
    im.held.pop_front();
    av_packet_rescale_ts(p, kMicros, im.ctx->streams[p->stream_index]->time_base);
    const int e = av_interleaved_write_frame(im.ctx, p);
    av_packet_free(&p);
    if (e < 0) return unavailable(im.config.path + ": write failed (" + av_error(e) + ")");
  }
  return {};
}

Status MediaWriter::mux(int stream, std::span<const uint8_t> data, int64_t pts_us, int64_t duration_us, bool key) {
  Impl& im = *impl_;
  if (!im.ctx) return invalid_argument(im.config.path + ": writer already closed");
  int64_t& last = im.last_dts[stream == im.video_stream ? 0 : 1];
  if (last != INT64_MIN && pts_us <= last) {
    return invalid_argument(im.config.path + ": timestamps must increase (" + std::to_string(pts_us) +
                            " us after " + std::to_string(last) + " us)");
  }
  AVPacket* p = av_packet_alloc();
  if (!p || av_new_packet(p, static_cast<int>(data.size())) < 0) {
    av_packet_free(&p);
    return Status(StatusCode::kInternal, im.config.path + ": out of memory");
  }
  last = pts_us;
  if (!data.empty()) std::memcpy(p->data, data.data(), data.size());
  p->stream_index = stream;
  p->pts = p->dts = pts_us;
  p->duration = duration_us;
  if (key) p->flags |= AV_PKT_FLAG_KEY;
  if (!im.header_written) {
    if (im.held.size() >= kMaxBufferedAudio) {
      av_packet_free(&p);
      return invalid_argument(im.config.path + ": no H.264 keyframe with SPS/PPS within 60 s of audio");
    }
    im.held.push_back(p);
    return {};
  }
  av_packet_rescale_ts(p, kMicros, im.ctx->streams[stream]->time_base);
  const int err = av_interleaved_write_frame(im.ctx, p);
  av_packet_free(&p);
  if (err < 0) return unavailable(im.config.path + ": write failed (" + av_error(err) + ")");
  return {};
}

Status MediaWriter::write_video(std::span<const uint8_t> frame, int64_t pts_us, bool keyframe) {
  Impl& im = *impl_;
  if (!im.ctx) return invalid_argument(im.config.path + ": writer already closed");
  if (im.video_stream < 0) return invalid_argument(im.config.path + ": no video stream configured");
  if (frame.empty()) return invalid_argument(im.config.path + ": empty video frame");
  if (!im.header_written && im.need_parameter_sets) {
    std::vector<uint8_t> ps = keyframe ? h264_parameter_sets(frame) : std::vector<uint8_t>{};
    if (ps.empty()) {
      ++dropped_video_;  // undecodable before the first IDR with SPS/PPS
      return {};
    }
    AVCodecParameters* par = im.ctx->streams[im.video_stream]->codecpar;
    par->extradata = static_cast<uint8_t*>(av_mallocz(ps.size() + AV_INPUT_BUFFER_PADDING_SIZE));
    if (!par->extradata) return Status(StatusCode::kInternal, im.config.path + ": out of memory");
    std::memcpy(par->extradata, ps.data(), ps.size());
    par->extradata_size = static_cast<int>(ps.size());
    // Held audio earlier than this first frame stays; the container starts at the earliest packet.
    Status st = start("");
    if (!st.ok()) return st;
  }
  const int64_t dur = im.config.frame_rate > 0 ? 1'000'000 / im.config.frame_rate : 0;
  Status st = mux(im.video_stream, frame, pts_us, dur, keyframe);
  if (st.ok()) ++video_frames_;
  return st;
}

Status MediaWriter::write_audio(std::span<const uint8_t> frame, int64_t pts_us, int samples) {
  Impl& im = *impl_;
  if (!im.ctx) return invalid_argument(im.config.path + ": writer already closed");
  if (im.audio_stream < 0) return invalid_argument(im.config.path + ": no audio stream configured");
  if (frame.empty() || samples <= 0) return invalid_argument(im.config.path + ": empty audio frame");
  const int rate = im.ctx->streams[im.audio_stream]->codecpar->sample_rate;
  Status st = mux(im.audio_stream, frame, pts_us, int64_t{samples} * 1'000'000 / rate, true);
  if (st.ok()) ++audio_frames_;
  return st;
}

Status MediaWriter::write_audio_pcm(std::span<const int16_t> samples, int64_t pts_us) {
  Impl& im = *impl_;
  if (im.config.audio != AudioOutCodec::kPcmS16) {
    return invalid_argument(im.config.path + ": write_audio_pcm needs AudioOutCodec::kPcmS16");
  }
  // s16le on disk; x86 and ARM Linux are little-endian, so the bytes are the samples.
  static_assert(std::endian::native == std::endian::little);
  const auto bytes = std::as_bytes(samples);
  return write_audio(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), pts_us,
                     static_cast<int>(samples.size()) / im.config.channels);
}

Status MediaWriter::finish() {
  Impl& im = *impl_;
  if (!im.ctx) return invalid_argument(im.config.path + ": writer already closed");
  if (!im.header_written) {
    Status st = start(" (no H.264 keyframe arrived)");
    if (!st.ok()) {
      abort();
      return st;
    }
  }
  int err = av_write_trailer(im.ctx);
  if (err < 0) {
    abort();
    return unavailable(im.config.path + ": cannot finish the file (" + av_error(err) + ")");
  }
  if (!(im.ctx->oformat->flags & AVFMT_NOFILE)) {
    err = avio_closep(&im.ctx->pb);
    if (err < 0) {
      abort();
      return unavailable(im.config.path + ": write failed (" + av_error(err) + ")");
    }
  }
  im.close(false);
  std::error_code ec;
  std::filesystem::rename(im.part, im.config.path, ec);
  if (ec) {
    std::filesystem::remove(im.part, ec);
    return unavailable(im.config.path + ": cannot rename " + im.part);
  }
  return {};
}

void MediaWriter::abort() { impl_->close(true); }

}  // namespace sipmix::replay
