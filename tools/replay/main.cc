// sipmix-replay: drives a whole sipmix session offline from media files,
// captures and a timeline (a manifest), or from generated sources (--demo),
// and writes what the SIP leg would receive. Exit status: 0 success,
// 2 bad input (manifest, inputs, options), 1 an output could not be written,
// 130 / 143 stopped by SIGINT / SIGTERM.
#include <CLI/CLI.hpp>

extern "C" {
#include <libavutil/log.h>
}

#include <atomic>
#include <csignal>
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
    "Everything is written into a temporary folder beside OUT (.OUT.sipmix-tmp-XXXXXX) and\n"
    "renamed to OUT at the end; sipmix-replay only ever removes that folder or, with\n"
    "--force, an earlier sipmix-replay output in OUT.\n"
    "SIGINT (Ctrl-C) or SIGTERM stops the replay, removes the temporary folder and leaves\n"
    "OUT as it was; a second signal ends the process at once.\n"
    "Exit status: 0 done, 2 bad input or options (one line naming the field), 1 an output\n"
    "could not be written (one line naming the file; nothing is left), 130 SIGINT, 143 SIGTERM.\n"
    "The manifest schema is documented in docs/manifest.md.";

std::atomic<int> g_stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

// Only sets the flag that the replay loop checks; SA_RESETHAND makes a
// second signal end the process the default way.
void on_signal(int signo) { g_stop_signal.store(signo, std::memory_order_relaxed); }

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// libav's own messages would add lines to the one-line errors: the replay
// reports what failed itself, naming the field and the file.
void quiet_libav(void*, int, const char*, va_list) {}

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
  app.add_flag("--force", opt.force,
               "Replace OUT when it holds an earlier sipmix-replay output (never a folder sipmix-replay did not write)");
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
  av_log_set_level(AV_LOG_QUIET);
  av_log_set_callback(quiet_libav);
  install_signal_handlers();
  opt.stop = &g_stop_signal;
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
  sipmix::StatusOr<sipmix::replay::ReplayResult> r = sipmix::unavailable("not run");
  try {
    r = sipmix::replay::run_replay(manifest, opt);
  } catch (const std::exception& e) {  // a bug, but still one line and no partial output
    std::fprintf(stderr, "sipmix-replay: internal error: %s\n", e.what());
    return 1;
  }
  if (!r.ok() && g_stop_signal.load() != 0) {
    const int signo = g_stop_signal.load();
    std::fprintf(stderr, "sipmix-replay: stopped by %s: the partial results were removed, %s is unchanged\n",
                 signo == SIGINT ? "SIGINT" : "SIGTERM", opt.out_dir.c_str());
    return 128 + signo;
  }
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
