// The replay driver: runs one manifest's session on a simulated clock as fast
// as the CPU allows and writes its outputs. Deterministic: the same manifest
// and seed give the same outputs. Single-threaded.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sipmix/session.h"
#include "sipmix/status.h"
#include "tools/replay/manifest.h"

namespace sipmix::replay {

struct ReplayOptions {
  std::string out_dir = "sipmix-demo";
  bool progress = true;     // a progress bar when stderr is a terminal
  bool force = false;       // replace an earlier sipmix-replay output folder
  // Set (to the signal number) from a signal handler: the replay stops, removes
  // its temporary folder and returns an error; OUT is left as it was.
  const std::atomic<int>* stop = nullptr;
  // Build the contact sheet by decoding the leg's video as it was sent (one
  // more video decode per frame) instead of from the composed canvas.
  bool decode_sent_video = false;
};

// What a replay wrote, for the summary printed at the end.
struct ReplayResult {
  std::string out_dir;
  std::vector<std::string> files;  // relative to out_dir
  SessionStats stats;
  double media_seconds = 0;
  double wall_seconds = 0;
  int mute_changes = 0;
  int digits = 0;
};

// The built-in demo: generated participants (labelled video, tones and real
// speech), a SIP leg with video and observeForceMute that presses *6 twice
// and is force-muted once.
Manifest demo_manifest();

// Runs the session and writes the outputs into options.out_dir: into a
// temporary folder beside it first (`.NAME.sipmix-tmp-XXXXXX`), renamed into
// place at the end, so nothing half written is left behind on an error or a
// stop. Every input is opened and checked before anything is written.
// kInvalidArgument and kNotFound: bad input or --out (the message names the
// field); kUnavailable: an output could not be written (the message names the
// file), or the replay was stopped.
StatusOr<ReplayResult> run_replay(const Manifest& manifest, const ReplayOptions& options);

}  // namespace sipmix::replay
