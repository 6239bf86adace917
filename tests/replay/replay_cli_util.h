// Runs the real sipmix-replay binary for the command-line tests: its exit
// status, stdout and stderr, with a hang guard (a timeout that kills it), an
// optional signal sent during the run and an optional file size limit.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sipmix::replay::testing {

struct CliResult {
  int exit_code = -1;     // the exit status, or 128 + N when killed by signal N
  bool timed_out = false; // killed by the hang guard
  bool signalled = false; // Options::signal was sent
  std::string out, err;
  // Lines on stderr (a last line without '\n' counts).
  int lines() const;
};

class Cli {
 public:
  struct Options {
    std::string cwd;          // working folder of the child
    double timeout_s = 300;   // then SIGKILL and timed_out
    int signal = 0;           // sent once signal_when() holds and signal_after_s passed since
    std::function<bool()> signal_when;
    double signal_after_s = 0;
    long file_size_limit = -1;  // RLIMIT_FSIZE in bytes, with SIGXFSZ ignored (writes fail with EFBIG)
  };
  static CliResult run(const std::vector<std::string>& args, const Options& options);
  static std::string binary();
};

struct CapturedPacket {
  int64_t t_us;  // capture time
  uint8_t payload_type;
};
// Writes a capture of PCMU RTP (a 440 Hz tone, 20 ms a packet, to UDP port
// 4000) with the given capture times. Returns false if it cannot.
bool write_capture(const std::string& path, const std::vector<CapturedPacket>& packets);
// `n` packets 20 ms apart from `from_us`.
std::vector<CapturedPacket> talk(int64_t from_us, int n, uint8_t payload_type = 0);

}  // namespace sipmix::replay::testing
