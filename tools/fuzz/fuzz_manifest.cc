// libFuzzer target: the replay manifest parser (JSON with comments, schema
// validation, path resolution). The input is the manifest text; relative
// paths resolve against a private temp folder holding a few small files
// (media.wav, cap.pcap, a sub-folder), so both the "file exists" and the
// "no such file" branches are reachable. Properties: never crash; an error
// starts with the manifest's name and is one line (unless it echoes a value
// holding an escaped line break, see below); a manifest that
// parses has sane values (ids unique and non-empty, ranges respected).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "tools/replay/manifest.h"

#define SIPMIX_FUZZ_CHECK(cond)                                                     \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

namespace {

namespace fs = std::filesystem;

// Leaked on purpose: the atexit cleanup runs after static destructors.
const std::string& base_dir() {
  static const std::string& dir = *new std::string([] {
    const fs::path d = fs::temp_directory_path() / ("sipmix_fuzz_manifest_" + std::to_string(::getpid()));
    fs::create_directories(d / "sub");
    for (const char* name : {"media.wav", "cap.pcap", "sub/muted.wav", "empty.webm"}) {
      std::ofstream f(d / name, std::ios::binary);
      if (std::string(name) != "empty.webm") f << "RIFF0000WAVE";
    }
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(base_dir(), ec);
    });
    return d.string();
  }());
  return dir;
}

constexpr const char* kDisplay = "fuzz.json";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;  // the schema is small; big inputs only slow the search
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto m = sipmix::replay::parse_manifest(text, base_dir(), kDisplay);
  if (!m.ok()) {
    const std::string& msg = m.status().message();
    SIPMIX_FUZZ_CHECK(msg.rfind(std::string(kDisplay) + ": ", 0) == 0);
    // One line: a line break may only come from a value the manifest itself
    // spelled with a JSON escape (\n, \u000a), echoed back in quotes.
    SIPMIX_FUZZ_CHECK(msg.find('\n') == std::string::npos || text.find('\\') != std::string::npos);
    return 0;
  }
  SIPMIX_FUZZ_CHECK(!m->participants.empty());
  SIPMIX_FUZZ_CHECK(m->duration_s >= 0 && m->duration_s <= 86400);
  SIPMIX_FUZZ_CHECK(m->session.resampler_quality >= 3 && m->session.resampler_quality <= 10);
  SIPMIX_FUZZ_CHECK(m->session.max_streams >= static_cast<int>(2 * m->participants.size()));
  std::set<std::string> ids;
  for (const auto& p : m->participants) {
    SIPMIX_FUZZ_CHECK(!p.id.empty());
    SIPMIX_FUZZ_CHECK(ids.insert(p.id).second);
    SIPMIX_FUZZ_CHECK(p.id != m->leg.config.id);
    SIPMIX_FUZZ_CHECK(p.impairment.loss >= 0 && p.impairment.loss <= 1);
  }
  const auto& c = m->leg.config;
  SIPMIX_FUZZ_CHECK(!c.secure || (!c.srtp_key_to_leg.empty() && !c.srtp_key_from_leg.empty()));
  if (c.video) SIPMIX_FUZZ_CHECK(c.width % 2 == 0 && c.height % 2 == 0);
  for (const auto& e : m->timeline) SIPMIX_FUZZ_CHECK(e.at_s >= 0 && e.at_s <= 86400);
  return 0;
}
