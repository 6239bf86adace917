#include "tools/replay/media_reader.h"

#include <algorithm>
#include <filesystem>
#include <queue>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
}

namespace sipmix::replay {
namespace {

constexpr AVRational kMicros{1, 1'000'000};
constexpr int64_t kReorderWindowUs = 1'000'000;

std::string av_error(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof(buf));
  return buf;
}

}  // namespace

const char* media_codec_name(MediaCodec codec) {
  switch (codec) {
    case MediaCodec::kOpus: return "opus";
    case MediaCodec::kVp8: return "vp8";
    case MediaCodec::kH264: return "h264";
    case MediaCodec::kPcm: return "pcm";
    case MediaCodec::kOther: return "other";
  }
  return "other";
}

struct MediaReader::Impl {
  struct Stream {
    int out_index = -1;  // -1: not selected
    AVStream* st = nullptr;
    MediaKind kind = MediaKind::kAudio;
    MediaCodec codec = MediaCodec::kOther;
    AVBSFContext* bsf = nullptr;     // H.264 -> Annex B
    AVCodecContext* dec = nullptr;   // kPcm: decoder
    SwrContext* swr = nullptr;       // kPcm: -> 48 kHz mono s16
    int swr_in_rate = 0, swr_in_format = -1, swr_in_channels = 0;
    std::vector<int16_t> fifo;       // kPcm: converted samples not yet emitted
    bool pcm_base_set = false;
    int64_t pcm_base_us = 0;         // time of the first converted sample
    int64_t pcm_emitted = 0;         // samples emitted so far
    int64_t last_dts_us = INT64_MIN;
  };
  struct Pending {
    int64_t dts_us;
    uint64_t order;
    MediaPacket packet;
  };
  struct Later {
    bool operator()(const Pending& a, const Pending& b) const {
      return a.dts_us != b.dts_us ? a.dts_us > b.dts_us : a.order > b.order;
    }
  };

  AVFormatContext* fmt = nullptr;
  AVPacket* pkt = nullptr;
  AVPacket* bsf_pkt = nullptr;
  AVFrame* frame = nullptr;
  std::vector<Stream> streams;  // indexed by the file's stream index
  std::priority_queue<Pending, std::vector<Pending>, Later> heap;
  uint64_t order = 0;
  int64_t start_us = 0;
  int64_t max_dts_us = INT64_MIN;
  bool eof = false;
  int64_t dropped = 0;

  ~Impl() {
    for (Stream& s : streams) {
      av_bsf_free(&s.bsf);
      avcodec_free_context(&s.dec);
      swr_free(&s.swr);
    }
    av_frame_free(&frame);
    av_packet_free(&bsf_pkt);
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
  }

  int64_t to_us(int64_t ts, AVRational tb) const {
    return ts == AV_NOPTS_VALUE ? AV_NOPTS_VALUE : av_rescale_q(ts, tb, kMicros) - start_us;
  }

  void push(MediaPacket&& p) {
    max_dts_us = std::max(max_dts_us, p.dts_us);
    const int64_t dts = p.dts_us;
    heap.push(Pending{dts, order++, std::move(p)});
  }

  // Emits an encoded packet (after the bitstream filter, if any).
  void emit_encoded(Stream& s, const AVPacket* in) {
    MediaPacket p;
    p.stream = s.out_index;
    p.kind = s.kind;
    p.codec = s.codec;
    p.av_codec_id = s.st->codecpar->codec_id;
    int64_t pts = to_us(in->pts, s.st->time_base);
    int64_t dts = to_us(in->dts, s.st->time_base);
    if (dts == AV_NOPTS_VALUE) dts = pts;
    if (dts == AV_NOPTS_VALUE) dts = s.last_dts_us == INT64_MIN ? 0 : s.last_dts_us;
    if (pts == AV_NOPTS_VALUE) pts = dts;
    s.last_dts_us = dts;
    p.pts_us = pts;
    p.dts_us = dts;
    p.duration_us = in->duration > 0 ? av_rescale_q(in->duration, s.st->time_base, kMicros) : 0;
    p.keyframe = s.kind == MediaKind::kAudio || (in->flags & AV_PKT_FLAG_KEY) != 0;
    p.data.assign(in->data, in->data + in->size);
    push(std::move(p));
  }

  Status filter(Stream& s, const AVPacket* in, const std::string& path) {
    int err = av_bsf_send_packet(s.bsf, const_cast<AVPacket*>(in));
    if (err < 0 && err != AVERROR_EOF) {
      ++dropped;
      return {};
    }
    for (;;) {
      err = av_bsf_receive_packet(s.bsf, bsf_pkt);
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return {};
      if (err < 0) return unavailable(path + ": H.264 to Annex B conversion failed: " + av_error(err));
      emit_encoded(s, bsf_pkt);
      av_packet_unref(bsf_pkt);
    }
  }

  void emit_pcm_frames(Stream& s, bool flush) {
    if (flush && !s.fifo.empty() && s.fifo.size() % kPcmFrameSamples != 0) {
      s.fifo.resize((s.fifo.size() / kPcmFrameSamples + 1) * kPcmFrameSamples, 0);
    }
    size_t used = 0;
    while (s.fifo.size() - used >= static_cast<size_t>(kPcmFrameSamples)) {
      MediaPacket p;
      p.stream = s.out_index;
      p.kind = MediaKind::kAudio;
      p.codec = MediaCodec::kPcm;
      p.av_codec_id = s.st->codecpar->codec_id;
      p.pts_us = p.dts_us = s.pcm_base_us + s.pcm_emitted * 1'000'000 / kPcmSampleRateHz;
      p.duration_us = kPcmFrameSamples * int64_t{1'000'000} / kPcmSampleRateHz;
      p.keyframe = true;
      p.pcm.assign(s.fifo.begin() + used, s.fifo.begin() + used + kPcmFrameSamples);
      used += kPcmFrameSamples;
      s.pcm_emitted += kPcmFrameSamples;
      push(std::move(p));
    }
    s.fifo.erase(s.fifo.begin(), s.fifo.begin() + used);
  }

  Status convert(Stream& s, const AVFrame* f, const std::string& path) {
    const int channels = f ? f->ch_layout.nb_channels : 0;
    if (f && (!s.swr || f->sample_rate != s.swr_in_rate || f->format != s.swr_in_format ||
              channels != s.swr_in_channels)) {
      // (Re)configure on the first frame and on any format change mid-stream.
      if (s.swr) emit_pcm_frames(s, false);
      swr_free(&s.swr);
      AVChannelLayout in_layout{};
      if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
        av_channel_layout_default(&in_layout, std::max(channels, 1));
      } else {
        av_channel_layout_copy(&in_layout, &f->ch_layout);
      }
      AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
      int err = swr_alloc_set_opts2(&s.swr, &mono, AV_SAMPLE_FMT_S16, kPcmSampleRateHz, &in_layout,
                                    static_cast<AVSampleFormat>(f->format), f->sample_rate, 0, nullptr);
      av_channel_layout_uninit(&in_layout);
      if (err >= 0 && channels > 1) {
        // Plain average of the channels: a tone recorded in stereo keeps its level.
        std::vector<double> matrix(channels, 1.0 / channels);
        err = swr_set_matrix(s.swr, matrix.data(), channels);
      }
      if (err < 0 || (err = swr_init(s.swr)) < 0) {
        return unavailable(path + ": cannot resample audio: " + av_error(err));
      }
      s.swr_in_rate = f->sample_rate;
      s.swr_in_format = f->format;
      s.swr_in_channels = channels;
    }
    if (!s.swr) return {};
    if (f && !s.pcm_base_set) {
      const int64_t ts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
      s.pcm_base_us = ts == AV_NOPTS_VALUE ? 0 : to_us(ts, s.st->time_base);
      s.pcm_base_set = true;
    }
    const int in_samples = f ? f->nb_samples : 0;
    const int out_max = swr_get_out_samples(s.swr, in_samples);
    if (out_max <= 0) return {};
    const size_t old = s.fifo.size();
    s.fifo.resize(old + out_max);
    uint8_t* out[1] = {reinterpret_cast<uint8_t*>(s.fifo.data() + old)};
    const int got = swr_convert(s.swr, out, out_max, f ? const_cast<const uint8_t**>(f->extended_data) : nullptr,
                                in_samples);
    s.fifo.resize(old + std::max(got, 0));
    return {};
  }

  Status decode(Stream& s, const AVPacket* in, const std::string& path) {
    int err = avcodec_send_packet(s.dec, in);
    if (err < 0 && err != AVERROR_EOF) {
      ++dropped;
      return {};
    }
    for (;;) {
      err = avcodec_receive_frame(s.dec, frame);
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) break;
      if (err < 0) {
        ++dropped;
        break;
      }
      Status st = convert(s, frame, path);
      av_frame_unref(frame);
      if (!st.ok()) return st;
    }
    if (!in) {
      Status st = convert(s, nullptr, path);  // drain the resampler
      if (!st.ok()) return st;
      emit_pcm_frames(s, true);
    } else {
      emit_pcm_frames(s, false);
    }
    return {};
  }

  Status flush_all(const std::string& path) {
    for (Stream& s : streams) {
      if (s.out_index < 0) continue;
      Status st;
      if (s.bsf) st = filter(s, nullptr, path);
      if (s.dec) st = decode(s, nullptr, path);
      if (!st.ok()) return st;
    }
    return {};
  }
};

MediaReader::MediaReader(std::string path, std::unique_ptr<Impl> impl)
    : path_(std::move(path)), impl_(std::move(impl)) {}
MediaReader::~MediaReader() = default;

StatusOr<std::unique_ptr<MediaReader>> MediaReader::open(const std::string& path, bool decode_all_audio) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return not_found(path + ": no such file");
  if (std::filesystem::is_directory(path, ec)) return invalid_argument(path + ": is a directory, not a media file");
  auto impl = std::make_unique<Impl>();
  int err = avformat_open_input(&impl->fmt, path.c_str(), nullptr, nullptr);
  if (err < 0) {
    if (err == AVERROR(EACCES)) return unavailable(path + ": cannot read file: permission denied");
    return unavailable(path + ": not a readable media file (" + av_error(err) + ")");
  }
  err = avformat_find_stream_info(impl->fmt, nullptr);
  if (err < 0) return unavailable(path + ": cannot read stream info (" + av_error(err) + ")");
  impl->pkt = av_packet_alloc();
  impl->bsf_pkt = av_packet_alloc();
  impl->frame = av_frame_alloc();
  if (!impl->pkt || !impl->bsf_pkt || !impl->frame) return Status(StatusCode::kInternal, path + ": out of memory");
  impl->start_us = impl->fmt->start_time == AV_NOPTS_VALUE ? 0 : impl->fmt->start_time;

  std::unique_ptr<MediaReader> reader(new MediaReader(path, nullptr));
  impl->streams.resize(impl->fmt->nb_streams);
  for (unsigned i = 0; i < impl->fmt->nb_streams; ++i) {
    AVStream* st = impl->fmt->streams[i];
    Impl::Stream& s = impl->streams[i];
    s.st = st;
    const AVCodecParameters* par = st->codecpar;
    const bool audio = par->codec_type == AVMEDIA_TYPE_AUDIO;
    const bool video = par->codec_type == AVMEDIA_TYPE_VIDEO && !(st->disposition & AV_DISPOSITION_ATTACHED_PIC);
    if (!audio && !video) {
      st->discard = AVDISCARD_ALL;
      continue;
    }
    s.kind = audio ? MediaKind::kAudio : MediaKind::kVideo;
    if (audio) {
      s.codec = (par->codec_id == AV_CODEC_ID_OPUS && !decode_all_audio) ? MediaCodec::kOpus : MediaCodec::kPcm;
    } else if (par->codec_id == AV_CODEC_ID_VP8) {
      s.codec = MediaCodec::kVp8;
    } else if (par->codec_id == AV_CODEC_ID_H264) {
      s.codec = MediaCodec::kH264;
    } else {
      s.codec = MediaCodec::kOther;
    }
    if (s.codec == MediaCodec::kPcm) {
      const AVCodec* codec = avcodec_find_decoder(par->codec_id);
      if (!codec) {
        return unavailable(path + ": no decoder for audio codec " + avcodec_get_name(par->codec_id));
      }
      s.dec = avcodec_alloc_context3(codec);
      if (!s.dec || avcodec_parameters_to_context(s.dec, par) < 0) {
        return Status(StatusCode::kInternal, path + ": out of memory");
      }
      s.dec->pkt_timebase = st->time_base;
      err = avcodec_open2(s.dec, codec, nullptr);
      if (err < 0) return unavailable(path + ": cannot open audio decoder: " + av_error(err));
    }
    if (s.codec == MediaCodec::kH264) {
      const AVBitStreamFilter* f = av_bsf_get_by_name("h264_mp4toannexb");
      if (!f) return unavailable(path + ": libavcodec lacks the h264_mp4toannexb filter");
      err = av_bsf_alloc(f, &s.bsf);
      if (err >= 0) err = avcodec_parameters_copy(s.bsf->par_in, par);
      if (err >= 0) {
        s.bsf->time_base_in = st->time_base;
        err = av_bsf_init(s.bsf);
      }
      if (err < 0) return unavailable(path + ": H.264 Annex B filter: " + av_error(err));
    }
    s.out_index = static_cast<int>(reader->streams_.size());
    MediaStreamInfo info;
    info.index = s.out_index;
    info.kind = s.kind;
    info.codec = s.codec;
    info.av_codec_id = par->codec_id;
    info.codec_name = avcodec_get_name(par->codec_id);
    info.width = par->width;
    info.height = par->height;
    info.sample_rate_hz = par->sample_rate;
    info.channels = par->ch_layout.nb_channels;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0) {
      info.duration_us = av_rescale_q(st->duration, st->time_base, kMicros);
    } else if (impl->fmt->duration != AV_NOPTS_VALUE && impl->fmt->duration > 0) {
      info.duration_us = impl->fmt->duration;
    }
    reader->streams_.push_back(std::move(info));
  }
  if (reader->streams_.empty()) return invalid_argument(path + ": no audio or video stream");
  reader->impl_ = std::move(impl);
  return reader;
}

int MediaReader::find_stream(MediaKind kind) const {
  for (const MediaStreamInfo& s : streams_) {
    if (s.kind == kind) return s.index;
  }
  return -1;
}

StatusOr<bool> MediaReader::next(MediaPacket& out) {
  Impl& im = *impl_;
  for (;;) {
    if (!im.heap.empty() && (im.eof || im.heap.top().dts_us <= im.max_dts_us - kReorderWindowUs)) {
      out = std::move(const_cast<Impl::Pending&>(im.heap.top()).packet);
      im.heap.pop();
      dropped_ = im.dropped;
      return true;
    }
    if (im.eof) {
      dropped_ = im.dropped;
      return false;
    }
    const int err = av_read_frame(im.fmt, im.pkt);
    if (err == AVERROR_EOF) {
      im.eof = true;
      Status st = im.flush_all(path_);
      if (!st.ok()) return st;
      continue;
    }
    if (err < 0) return unavailable(path_ + ": read error (" + av_error(err) + ")");
    Status st;
    if (im.pkt->stream_index >= 0 && im.pkt->stream_index < static_cast<int>(im.streams.size())) {
      Impl::Stream& s = im.streams[im.pkt->stream_index];
      if (s.out_index >= 0) {
        if (s.bsf) {
          st = im.filter(s, im.pkt, path_);
        } else if (s.dec) {
          st = im.decode(s, im.pkt, path_);
        } else {
          im.emit_encoded(s, im.pkt);
        }
      }
    }
    av_packet_unref(im.pkt);
    if (!st.ok()) return st;
  }
}

StatusOr<std::vector<int16_t>> read_audio_file_48k_mono(const std::string& path) {
  auto reader = MediaReader::open(path, /*decode_all_audio=*/true);
  if (!reader.ok()) return reader.status();
  const int stream = (*reader)->find_stream(MediaKind::kAudio);
  if (stream < 0) return invalid_argument(path + ": no audio stream");
  std::vector<int16_t> samples;
  MediaPacket p;
  for (;;) {
    auto more = (*reader)->next(p);
    if (!more.ok()) return more.status();
    if (!more.value()) break;
    if (p.stream == stream) samples.insert(samples.end(), p.pcm.begin(), p.pcm.end());
  }
  if (samples.empty()) return invalid_argument(path + ": audio stream has no decodable samples");
  return samples;
}

}  // namespace sipmix::replay
