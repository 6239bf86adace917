// SRTP/SRTCP for `secure` SIP legs through libsrtp2: SDES key parsing
// (RFC 4568 inline keys, AES_CM_128_HMAC_SHA1_80/_32) and an SrtpSession with
// an outbound (protect) and an inbound (unprotect) direction.
// Threads: the outbound direction is used by one thread (the tick thread) and
// the inbound by one thread (the receiving thread); the two may run
// concurrently. stats() may be read from any thread. Packets stay in the
// caller's buffers; the session owns its two libsrtp contexts.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "sipmix/status.h"

namespace sipmix::srtp {

enum class SrtpSuite : uint8_t {
  kAesCm128HmacSha1_80,  // 80-bit tag on SRTP and SRTCP
  kAesCm128HmacSha1_32,  // 32-bit tag on SRTP, 80-bit on SRTCP (RFC 4568 §6.2)
};

inline constexpr size_t kSrtpMasterKeySize = 16;
inline constexpr size_t kSrtpMasterSaltSize = 14;
inline constexpr size_t kSrtpKeySaltSize = kSrtpMasterKeySize + kSrtpMasterSaltSize;
inline constexpr size_t kSrtpMaxMkiSize = 128;
// Worst-case growth of a packet: SRTCP index (4) + 80-bit tag + largest MKI.
inline constexpr size_t kSrtpMaxOverhead = 4 + 10 + kSrtpMaxMkiSize;

// Suite name as in SDP ("AES_CM_128_HMAC_SHA1_80"); nullptr for none.
const char* suite_name(SrtpSuite suite);
// The suite with that SDP name, or nullopt (then tell the user which two exist).
std::optional<SrtpSuite> suite_from_name(std::string_view name);

// One SDES key: `inline:<base64 key||salt>[|lifetime][|MKI:length]`.
struct SdesKey {
  SrtpSuite suite = SrtpSuite::kAesCm128HmacSha1_80;
  std::array<uint8_t, kSrtpKeySaltSize> key_salt{};
  uint64_t lifetime_packets = 0;  // 0 = not given (libsrtp's own 2^48 limit applies)
  uint32_t mki_value = 0;
  uint8_t mki_size = 0;  // bytes of MKI on the wire; 0 = no MKI
};

// Parses the key-params of an SDES crypto attribute for `suite`, e.g.
// "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4". Lifetime is
// decimal or 2^N (at most 2^48); MKI is <decimal value>:<length 1..128 bytes>
// with a value below 2^32 that fits the length.
// Errors name the part that is wrong.
StatusOr<SdesKey> parse_sdes_key(SrtpSuite suite, std::string_view key_params);

// Parses a whole crypto attribute value: "[a=crypto:]<tag> <suite> <key-params>
// [session params]". Session parameters are rejected (none is supported).
StatusOr<SdesKey> parse_sdes_crypto(std::string_view attribute);

// Fresh random key for tests and the demo: "inline:<base64 of 30 bytes>".
std::string generate_sdes_inline_key();

// Base64 (RFC 4648, with padding) used by the SDES helpers; exposed for tests.
std::string base64_encode(std::span<const uint8_t> data);

enum class SrtpResult : uint8_t {
  kOk,
  kAuthFailure,  // tag mismatch: dropped, counted in auth_failures
  kReplay,       // already seen, or older than the replay window: counted in replays
  kMalformed,    // too short / not an RTP or RTCP header / no room for the trailer
  kError,        // any other libsrtp failure (key limit reached, ...)
};

struct SrtpOutput {
  SrtpResult result = SrtpResult::kError;
  size_t size = 0;  // packet size after the operation; 0 unless kOk
  bool ok() const { return result == SrtpResult::kOk; }
};

struct SrtpStats {
  uint64_t rtp_protected = 0;
  uint64_t rtcp_protected = 0;
  uint64_t rtp_unprotected = 0;
  uint64_t rtcp_unprotected = 0;
  uint64_t auth_failures = 0;  // inbound, RTP + RTCP
  uint64_t replays = 0;        // inbound, RTP + RTCP
  uint64_t other_errors = 0;   // malformed inbound, and every failed protect
};

class SrtpSession {
 public:
  // `outbound` keys what we send, `inbound` what the peer sends (its SDES
  // offer/answer key). Fails with a clear message if libsrtp rejects them.
  static StatusOr<std::unique_ptr<SrtpSession>> create(const SdesKey& outbound, const SdesKey& inbound);
  ~SrtpSession();
  SrtpSession(const SrtpSession&) = delete;
  SrtpSession& operator=(const SrtpSession&) = delete;

  // Bytes a protect adds after the packet (tag + MKI; RTCP also the index).
  size_t rtp_overhead() const;
  size_t rtcp_overhead() const;

  // Outbound thread. The packet occupies buffer[0, packet_size); the buffer
  // must have rtp_overhead()/rtcp_overhead() more bytes. Encrypts in place.
  SrtpOutput protect_rtp(std::span<uint8_t> buffer, size_t packet_size);
  SrtpOutput protect_rtcp(std::span<uint8_t> buffer, size_t packet_size);

  // Inbound thread. Authenticates, checks replay and decrypts in place. On
  // failure the packet is dropped and counted, and the session state (replay
  // window, rollover counter) is unchanged; the buffer contents are then
  // unspecified.
  SrtpOutput unprotect_rtp(std::span<uint8_t> packet);
  SrtpOutput unprotect_rtcp(std::span<uint8_t> packet);

  SrtpStats stats() const;

 private:
  struct Contexts;
  SrtpSession(std::unique_ptr<Contexts> contexts, const SdesKey& outbound, const SdesKey& inbound);
  SrtpOutput count_inbound(int status, size_t size, std::atomic<uint64_t>& ok_counter);

  std::unique_ptr<Contexts> contexts_;
  size_t out_rtp_overhead_;
  size_t out_rtcp_overhead_;
  size_t in_rtp_overhead_;
  size_t in_rtcp_overhead_;
  bool out_mki_;
  bool in_mki_;
  // Single writer per counter (its direction's thread); relaxed atomics so
  // that stats() can read them from anywhere.
  std::atomic<uint64_t> rtp_protected_{0};
  std::atomic<uint64_t> rtcp_protected_{0};
  std::atomic<uint64_t> rtp_unprotected_{0};
  std::atomic<uint64_t> rtcp_unprotected_{0};
  std::atomic<uint64_t> auth_failures_{0};
  std::atomic<uint64_t> replays_{0};
  std::atomic<uint64_t> in_errors_{0};
  std::atomic<uint64_t> out_errors_{0};
};

}  // namespace sipmix::srtp
