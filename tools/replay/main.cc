// sipmix-replay: drives a whole sipmix session offline from media files,
// captures and a timeline (a manifest), or from generated sources (--demo),
// and writes what the SIP leg would receive. Exit status: 0 success,
// 2 bad input (manifest, paths, options), 1 anything else.
#include <CLI/CLI.hpp>

extern "C" {
#include <libavutil/log.h>
}

#include <cstdio>
#include <string>

#include "tools/replay/manifest.h"
#include "tools/replay/replay.h"

namespace {

constexpr const char* kDescription =
    "sipmix-replay runs one sipmix session offline on a simulated clock, as fast as the CPU allows.\n"
    "The result is the same on every run. It writes into the output folder:\n"
    "  leg.mkv              what the SIP leg receives: composed video + mixed audio\n"
    "  session-stream.mka   the SIP leg's own audio as published into the session (Opus)\n"
    "  leg.pcap             every RTP packet sent to the SIP leg (as sent: SRTP if secure)\n"
    "  events.jsonl         mute changes with cause, digits, keyframe requests, joins, leaves\n"
    "  stats.json           per-stream jitter-buffer figures, loss, concealment, encode counts\n"
    "  contact-sheet.png    the composed canvas at regular intervals\n"
    "  timeline.png         levels per stream, mute state, digits, jitter-buffer delay\n"
    "The manifest schema is documented in docs/manifest.md.";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription, "sipmix-replay"};
  std::string manifest_path;
  bool demo = false;
  sipmix::replay::ReplayOptions opt;
  opt.out_dir.clear();
  bool no_progress = false;
  bool quiet = false;
  app.add_option("manifest", manifest_path, "Session manifest (JSON), see docs/manifest.md");
  app.add_flag("--demo", demo,
               "Replay the built-in demo: six generated participants (labelled video, tones and speech), a SIP leg "
               "with video that presses *6 twice and is force-muted once. Needs no input files");
  app.add_option("-o,--out", opt.out_dir, "Output folder (default: ./sipmix-demo with --demo, ./sipmix-replay otherwise)");
  app.add_flag("--force", opt.force, "Replace an existing output folder that sipmix-replay did not write");
  app.add_flag("--decode-sent-video", opt.decode_sent_video,
               "Build the contact sheet by decoding the leg's video as sent (costs a decode per frame)");
  app.add_flag("--no-progress", no_progress, "No progress bar (it only appears on a terminal anyway)");
  app.add_flag("-q,--quiet", quiet, "Print nothing but errors");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (demo == !manifest_path.empty()) {
    std::fprintf(stderr, "sipmix-replay: give either a manifest or --demo (see --help)\n");
    return 2;
  }
  av_log_set_level(AV_LOG_ERROR);  // codec chatter is not for the user
  if (opt.out_dir.empty()) opt.out_dir = demo ? "sipmix-demo" : "sipmix-replay";
  opt.progress = !no_progress && !quiet;

  sipmix::replay::Manifest manifest;
  if (demo) {
    manifest = sipmix::replay::demo_manifest();
  } else {
    auto m = sipmix::replay::load_manifest(manifest_path);
    if (!m.ok()) {
      std::fprintf(stderr, "sipmix-replay: %s\n", m.status().message().c_str());
      return 2;
    }
    manifest = std::move(*m);
  }
  auto r = sipmix::replay::run_replay(manifest, opt);
  if (!r.ok()) {
    std::fprintf(stderr, "sipmix-replay: %s\n", r.status().message().c_str());
    return r.status().code() == sipmix::StatusCode::kInvalidArgument ||
                   r.status().code() == sipmix::StatusCode::kNotFound
               ? 2
               : 1;
  }
  if (!quiet) {
    std::printf("replayed %.1f s of media in %.1f s (%.1fx real time)\n", r->media_seconds, r->wall_seconds,
                r->wall_seconds > 0 ? r->media_seconds / r->wall_seconds : 0.0);
    std::printf("mute changes: %d, digits received: %d\n", r->mute_changes, r->digits);
    std::printf("outputs in %s/:\n", r->out_dir.c_str());
    for (const auto& f : r->files) std::printf("  %s\n", f.c_str());
    std::printf("look at contact-sheet.png and timeline.png first; play leg.mkv with any player.\n");
  }
  return 0;
}
