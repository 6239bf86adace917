#include "audio_dsp/wav_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace sipmix::audio {

namespace {

constexpr uint16_t kFormatPcm = 1;
constexpr uint16_t kFormatExtensible = 0xFFFE;

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
void put16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(static_cast<uint8_t>(x));
  v.push_back(static_cast<uint8_t>(x >> 8));
}
void put32(std::vector<uint8_t>& v, uint32_t x) {
  put16(v, static_cast<uint16_t>(x));
  put16(v, static_cast<uint16_t>(x >> 16));
}

Status bad(const std::string& name, const std::string& why) {
  return invalid_argument("WAV file '" + name + "': " + why);
}

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

}  // namespace

StatusOr<WavAudio> parse_wav(std::span<const uint8_t> b, const std::string& name) {
  if (b.size() < 12 || std::memcmp(b.data(), "RIFF", 4) != 0 || std::memcmp(b.data() + 8, "WAVE", 4) != 0)
    return bad(name, "not a RIFF/WAVE file");

  // Walk the chunks; never trust a chunk size beyond the bytes we have.
  const uint8_t* fmt = nullptr;
  size_t fmt_size = 0;
  const uint8_t* data = nullptr;
  size_t data_size = 0;
  size_t pos = 12;
  while (pos + 8 <= b.size()) {
    const uint8_t* id = b.data() + pos;
    const size_t size = le32(id + 4);
    const size_t avail = b.size() - (pos + 8);
    if (std::memcmp(id, "fmt ", 4) == 0) {
      if (size > avail) return bad(name, "truncated fmt chunk");
      fmt = id + 8;
      fmt_size = size;
    } else if (std::memcmp(id, "data", 4) == 0) {
      // Streaming writers leave the size 0 or 0xFFFFFFFF: take what is there.
      data = id + 8;
      data_size = (size == 0 || size > avail) ? avail : size;
      if (fmt != nullptr) break;
    }
    if (size > avail) break;
    pos += 8 + size + (size & 1);  // chunks are word aligned
  }
  if (fmt == nullptr) return bad(name, "no fmt chunk");
  if (fmt_size < 16) return bad(name, "fmt chunk too short");
  uint16_t format = le16(fmt);
  const int channels = le16(fmt + 2);
  const uint32_t rate = le32(fmt + 4);
  const uint16_t block_align = le16(fmt + 12);
  const int bits = le16(fmt + 14);
  if (format == kFormatExtensible) {
    if (fmt_size < 40) return bad(name, "extensible fmt chunk too short");
    format = le16(fmt + 24);  // first two bytes of the sub-format GUID
  }
  if (format != kFormatPcm)
    return bad(name, "unsupported format tag " + std::to_string(format) + " (only integer PCM)");
  if (bits != 8 && bits != 16)
    return bad(name, "unsupported " + std::to_string(bits) + "-bit samples (only 8 and 16)");
  if (channels != 1 && channels != 2)
    return bad(name, "unsupported channel count " + std::to_string(channels) + " (only mono and stereo)");
  if (rate < 1000 || rate > 384000) return bad(name, "unsupported sample rate " + std::to_string(rate));
  const size_t frame_bytes = static_cast<size_t>(channels) * (bits / 8);
  if (block_align != frame_bytes) return bad(name, "block align " + std::to_string(block_align) + " does not match");
  if (data == nullptr) return bad(name, "no data chunk");
  const size_t frames = data_size / frame_bytes;
  if (frames == 0) return bad(name, "no audio samples");

  WavAudio w;
  w.sample_rate_hz = static_cast<int>(rate);
  w.channels = channels;
  w.bits_per_sample = bits;
  w.samples.resize(frames);
  for (size_t i = 0; i < frames; ++i) {
    const uint8_t* f = data + i * frame_bytes;
    int sum = 0;
    for (int c = 0; c < channels; ++c) {
      sum += bits == 8 ? (static_cast<int>(f[c]) - 128) * 256 : static_cast<int16_t>(le16(f + 2 * c));
    }
    w.samples[i] = static_cast<int16_t>(sum / channels);  // mean of int16 values fits int16
  }
  return w;
}

StatusOr<WavAudio> read_wav(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return not_found("WAV file '" + path + "': not found");
    return unavailable("WAV file '" + path + "': cannot read: " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return unavailable("WAV file '" + path + "': not a regular file");
  if (static_cast<uint64_t>(st.st_size) > kMaxWavFileBytes)
    return unavailable("WAV file '" + path + "': larger than " + std::to_string(kMaxWavFileBytes >> 20) + " MiB");
  std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) return unavailable("WAV file '" + path + "': cannot read: " + std::strerror(errno));
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  const size_t got = bytes.empty() ? 0 : std::fread(bytes.data(), 1, bytes.size(), f.get());
  if (got != bytes.size() || std::ferror(f.get()))
    return unavailable("WAV file '" + path + "': read error");
  return parse_wav(bytes, path);
}

Status write_wav(const std::string& path, int sample_rate_hz, std::span<const int16_t> samples) {
  if (sample_rate_hz <= 0) return invalid_argument("WAV file '" + path + "': sample rate must be positive");
  const uint32_t data_bytes = static_cast<uint32_t>(samples.size() * 2);
  std::vector<uint8_t> v;
  v.reserve(44 + data_bytes);
  v.insert(v.end(), {'R', 'I', 'F', 'F'});
  put32(v, 36 + data_bytes);
  v.insert(v.end(), {'W', 'A', 'V', 'E', 'f', 'm', 't', ' '});
  put32(v, 16);
  put16(v, kFormatPcm);
  put16(v, 1);
  put32(v, static_cast<uint32_t>(sample_rate_hz));
  put32(v, static_cast<uint32_t>(sample_rate_hz) * 2);
  put16(v, 2);
  put16(v, 16);
  v.insert(v.end(), {'d', 'a', 't', 'a'});
  put32(v, data_bytes);
  for (int16_t s : samples) put16(v, static_cast<uint16_t>(s));
  std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "wb"));
  if (!f) return unavailable("WAV file '" + path + "': cannot write: " + std::strerror(errno));
  if (std::fwrite(v.data(), 1, v.size(), f.get()) != v.size())
    return unavailable("WAV file '" + path + "': write error");
  return {};
}

}  // namespace sipmix::audio
