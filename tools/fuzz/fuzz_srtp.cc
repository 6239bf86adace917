// libFuzzer target: SRTP/SRTCP unprotect with a fixed key.
// Input: mode byte, 16-bit tamper position, xor mask, then a packet.
//   mode & 3 == 0 / 1: the packet is unprotected as SRTP / SRTCP (must not crash).
//   mode & 3 == 2 / 3: the packet is clear RTP / RTCP; it is protected, one
//     byte is xored (when the mask is non-zero and the position inside the
//     packet), then unprotected. Untampered packets must come back
//     byte-identical and a second copy must be refused as a replay; tampered
//     ones must be refused and leave the session able to accept the genuine one.
// Raw mode reuses one session per suite: without a valid tag nothing can
// change its state, so runs stay reproducible. Round trips create their own.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "srtp/srtp_session.h"

#define SIPMIX_FUZZ_CHECK(cond)                                                \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                            \
    }                                                                          \
  } while (0)

namespace {

using sipmix::srtp::SrtpResult;
using sipmix::srtp::SrtpSession;

constexpr const char* kKey = "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";

std::unique_ptr<SrtpSession> make_session(sipmix::srtp::SrtpSuite suite) {
  auto key = sipmix::srtp::parse_sdes_key(suite, kKey);
  SIPMIX_FUZZ_CHECK(key.ok());
  auto s = SrtpSession::create(key.value(), key.value());  // loopback: same key both ways
  SIPMIX_FUZZ_CHECK(s.ok());
  return std::move(s.value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const uint8_t mode = data[0];
  const size_t tamper_pos = size_t{data[1]} << 8 | data[2];
  const uint8_t mask = data[3];
  std::vector<uint8_t> packet(data + 4, data + size);
  const bool rtcp = mode & 1;

  if ((mode & 3) < 2) {
    static const auto s80 = make_session(sipmix::srtp::SrtpSuite::kAesCm128HmacSha1_80);
    static const auto s32 = make_session(sipmix::srtp::SrtpSuite::kAesCm128HmacSha1_32);
    SrtpSession& session = (mode & 4) ? *s32 : *s80;
    const auto inbound_total = [](const sipmix::srtp::SrtpStats& st) {
      return st.auth_failures + st.replays + st.other_errors + st.rtp_unprotected + st.rtcp_unprotected;
    };
    const uint64_t before = inbound_total(session.stats());
    const auto out = rtcp ? session.unprotect_rtcp(packet) : session.unprotect_rtp(packet);
    SIPMIX_FUZZ_CHECK(out.size <= packet.size());
    SIPMIX_FUZZ_CHECK(inbound_total(session.stats()) == before + 1);  // every packet counted once
    if (!(mode & 4)) SIPMIX_FUZZ_CHECK(!out.ok());  // an 80-bit tag is never forged by chance
    return 0;
  }

  // Round trips use the 80-bit tag, whose forgery odds (2^-80) keep the
  // "tampered packets are refused" check exact.
  auto session = make_session(sipmix::srtp::SrtpSuite::kAesCm128HmacSha1_80);
  const size_t clear_size = packet.size();
  std::vector<uint8_t> buf = packet;
  buf.resize(clear_size + (rtcp ? session->rtcp_overhead() : session->rtp_overhead()));
  const auto prot = rtcp ? session->protect_rtcp(buf, clear_size) : session->protect_rtp(buf, clear_size);
  if (!prot.ok()) return 0;  // not an RTP/RTCP header: refused, counted
  buf.resize(prot.size);
  const std::vector<uint8_t> genuine = buf;
  auto unprotect = [&](std::vector<uint8_t> p, std::vector<uint8_t>* clear) {
    const auto out = rtcp ? session->unprotect_rtcp(p) : session->unprotect_rtp(p);
    if (out.ok() && clear) clear->assign(p.begin(), p.begin() + out.size);
    return out.result;
  };

  if (mask != 0 && tamper_pos < buf.size()) {
    std::vector<uint8_t> bad = buf;
    bad[tamper_pos] ^= mask;
    SIPMIX_FUZZ_CHECK(unprotect(bad, nullptr) != SrtpResult::kOk);
  }
  std::vector<uint8_t> clear;
  SIPMIX_FUZZ_CHECK(unprotect(genuine, &clear) == SrtpResult::kOk);
  SIPMIX_FUZZ_CHECK(clear == packet);
  SIPMIX_FUZZ_CHECK(unprotect(genuine, nullptr) == SrtpResult::kReplay);
  return 0;
}
