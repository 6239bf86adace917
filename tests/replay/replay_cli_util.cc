#include "tests/replay/replay_cli_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/pcap.h"

namespace sipmix::replay::testing {

using pcap::IpEndpoint;
using pcap::PcapReader;
using pcap::PcapWriter;
using pcap::UdpPacket;
using pcap::read_pcap_udp;

int CliResult::lines() const {
  int n = 0;
  for (char c : err) n += c == '\n';
  if (!err.empty() && err.back() != '\n') ++n;
  return n;
}

std::string Cli::binary() {
#ifdef SIPMIX_REPLAY_BIN
  return SIPMIX_REPLAY_BIN;
#else
  return "sipmix-replay";
#endif
}

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

CliResult Cli::run(const std::vector<std::string>& args, const Options& o) {
  CliResult r;
  char tmpl[] = "/tmp/sipmix_cli_XXXXXX";
  const int fd_out = ::mkstemp(tmpl);
  const std::string out_path = tmpl;
  char tmpl2[] = "/tmp/sipmix_cli_XXXXXX";
  const int fd_err = ::mkstemp(tmpl2);
  const std::string err_path = tmpl2;
  if (fd_out < 0 || fd_err < 0) return r;
  std::vector<std::string> argv_s = {binary()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(fd_out, 1);
    ::dup2(fd_err, 2);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    if (!o.cwd.empty() && ::chdir(o.cwd.c_str()) != 0) ::_exit(126);
    if (o.file_size_limit >= 0) {
      ::signal(SIGXFSZ, SIG_IGN);  // inherited across exec: writes fail with EFBIG instead
      rlimit rl{static_cast<rlim_t>(o.file_size_limit), static_cast<rlim_t>(o.file_size_limit)};
      ::setrlimit(RLIMIT_FSIZE, &rl);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fd_out);
  ::close(fd_err);
  const auto start = std::chrono::steady_clock::now();
  auto since = [](auto t) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count(); };
  std::chrono::steady_clock::time_point ready{};
  bool is_ready = false;
  int status = 0;
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (o.signal && !r.signalled) {
      if (!is_ready && (!o.signal_when || o.signal_when())) {
        is_ready = true;
        ready = std::chrono::steady_clock::now();
      }
      if (is_ready && since(ready) >= o.signal_after_s) {
        ::kill(pid, o.signal);
        r.signalled = true;
      }
    }
    if (since(start) > o.timeout_s) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) r.exit_code = 128 + WTERMSIG(status);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  std::remove(out_path.c_str());
  std::remove(err_path.c_str());
  return r;
}

namespace {
// G.711 µ-law of one sample (ITU-T G.711).
uint8_t ulaw(int16_t pcm) {
  int s = pcm;
  const int sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s = std::min(s, 32635) + 0x84;
  int exp = 7;
  for (int mask = 0x4000; (s & mask) == 0 && exp > 0; mask >>= 1) --exp;
  const int mant = (s >> (exp + 3)) & 0x0f;
  return static_cast<uint8_t>(~(sign | (exp << 4) | mant));
}
}  // namespace

bool write_capture(const std::string& path, const std::vector<CapturedPacket>& packets) {
  auto w = PcapWriter::create(path);
  if (!w.ok()) return false;
  uint16_t seq = 100;
  uint32_t ts = 1000;
  double phase = 0;
  for (const auto& p : packets) {
    std::vector<uint8_t> rtp(12 + 160);
    rtp[0] = 0x80;
    rtp[1] = p.payload_type;
    rtp[2] = static_cast<uint8_t>(seq >> 8);
    rtp[3] = static_cast<uint8_t>(seq);
    for (int i = 0; i < 4; ++i) rtp[4 + i] = static_cast<uint8_t>(ts >> (24 - 8 * i));
    rtp[8] = 0x12;
    rtp[11] = 0x34;
    for (int i = 0; i < 160; ++i) {
      rtp[12 + i] = ulaw(static_cast<int16_t>(8000 * std::sin(phase)));
      phase += 2 * M_PI * 440 / 8000;
    }
    ++seq;
    ts += 160;
    if (!(*w)->write(p.t_us, IpEndpoint::v4(10, 0, 0, 9, 5004), IpEndpoint::v4(10, 0, 0, 1, 4000), rtp).ok()) return false;
  }
  return (*w)->finish().ok();
}

std::vector<CapturedPacket> talk(int64_t from_us, int n, uint8_t payload_type) {
  std::vector<CapturedPacket> v;
  for (int i = 0; i < n; ++i) v.push_back({from_us + i * 20000, payload_type});
  return v;
}

}  // namespace sipmix::replay::testing
