// RTCP (RFC 3550) parse and build: SR, RR, and the payload-specific feedback
// messages PLI (RFC 4585) and FIR (RFC 5104), alone or in compound packets.
// Pure functions and a builder that writes into the caller's buffer; any
// thread. Parsing allocates nothing and hands decoded packets to a visitor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace sipmix::rtp {

inline constexpr uint8_t kRtcpSr = 200;
inline constexpr uint8_t kRtcpRr = 201;
inline constexpr uint8_t kRtcpSdes = 202;
inline constexpr uint8_t kRtcpBye = 203;
inline constexpr uint8_t kRtcpApp = 204;
inline constexpr uint8_t kRtcpRtpfb = 205;  // transport-layer feedback (RFC 4585)
inline constexpr uint8_t kRtcpPsfb = 206;   // payload-specific feedback (RFC 4585)
inline constexpr uint8_t kPsfbPli = 1;
inline constexpr uint8_t kPsfbFir = 4;

inline constexpr size_t kRtcpHeaderSize = 4;
inline constexpr size_t kMaxReportBlocks = 31;  // 5-bit count
inline constexpr size_t kReportBlockSize = 24;
inline constexpr size_t kMaxFirEntries = 32;    // per FIR delivered to the visitor

// RFC 3550 §6.4.1 report block.
struct ReportBlock {
  uint32_t ssrc = 0;                  // source this block reports on
  uint8_t fraction_lost = 0;          // fixed point, /256
  int32_t cumulative_lost = 0;        // signed 24 bit on the wire; clamped when written
  uint32_t extended_highest_seq = 0;  // cycles << 16 | highest sequence number
  uint32_t jitter = 0;                // interarrival jitter, RTP timestamp units
  uint32_t last_sr = 0;               // middle 32 bits of the last SR's NTP time
  uint32_t delay_since_last_sr = 0;   // units of 1/65536 s
  friend bool operator==(const ReportBlock&, const ReportBlock&) = default;
};

struct SenderInfo {
  uint64_t ntp_timestamp = 0;  // 32.32 fixed point seconds since 1900
  uint32_t rtp_timestamp = 0;
  uint32_t packet_count = 0;
  uint32_t octet_count = 0;
  friend bool operator==(const SenderInfo&, const SenderInfo&) = default;
};

struct SenderReport {
  uint32_t sender_ssrc = 0;
  SenderInfo info;
  uint8_t report_count = 0;  // valid entries in reports[]
  ReportBlock reports[kMaxReportBlocks];
};

struct ReceiverReport {
  uint32_t sender_ssrc = 0;
  uint8_t report_count = 0;
  ReportBlock reports[kMaxReportBlocks];
};

// Picture Loss Indication (PT 206, FMT 1).
struct Pli {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;  // the source asked for a keyframe
  friend bool operator==(const Pli&, const Pli&) = default;
};

// Full Intra Request (PT 206, FMT 4): each FCI entry asks one source.
struct FirEntry {
  uint32_t ssrc = 0;
  uint8_t seq_nr = 0;  // the sender increments it per new request
  friend bool operator==(const FirEntry&, const FirEntry&) = default;
};
struct Fir {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;  // 0 per RFC 5104; kept as received
  uint8_t entry_count = 0;  // valid entries in entries[]
  FirEntry entries[kMaxFirEntries];
};

// Receives the packets of a valid compound, in order. A FIR with more than
// kMaxFirEntries entries arrives as several on_fir calls. The span passed to
// on_other points into the parsed buffer and is valid only during the call.
class RtcpVisitor {
 public:
  virtual ~RtcpVisitor() = default;
  virtual void on_sender_report(const SenderReport&) {}
  virtual void on_receiver_report(const ReceiverReport&) {}
  virtual void on_pli(const Pli&) {}
  virtual void on_fir(const Fir&) {}
  // SDES, BYE, APP, other feedback and unknown types: the whole packet
  // (header included, padding included), with its 5-bit count/FMT field.
  virtual void on_other(uint8_t /*packet_type*/, uint8_t /*count_or_fmt*/,
                        std::span<const uint8_t> /*packet*/) {}
};

// Validates the whole compound first, then visits its packets. Returns false,
// without any visitor call, when anything is malformed: empty or short input,
// version != 2, a length field that overruns the buffer or leaves a trailing
// partial packet, padding count 0 or larger than the packet body, an SR/RR
// whose report blocks overrun its length, a PLI shorter than 12 bytes, a FIR
// without entries or with a partial entry. Reduced-size RTCP (RFC 5506: a
// packet that does not start with SR/RR) is accepted.
bool parse_rtcp(std::span<const uint8_t> data, RtcpVisitor& visitor);

// Builders: each writes one packet at the start of `out` and returns its size,
// or 0 when `out` is too small or a count is out of range (> 31 report blocks,
// 0 or > kMaxFirEntries FIR entries, CNAME longer than 255 bytes).
size_t write_sender_report(const SenderReport& sr, std::span<uint8_t> out);
size_t write_receiver_report(const ReceiverReport& rr, std::span<uint8_t> out);
size_t write_pli(const Pli& pli, std::span<uint8_t> out);
size_t write_fir(const Fir& fir, std::span<uint8_t> out);
// SDES with one chunk holding a CNAME item (RFC 3550 §6.5), padded to 32 bits.
size_t write_sdes_cname(uint32_t ssrc, std::string_view cname, std::span<uint8_t> out);

// Appends packets one after another into a caller buffer to form a compound
// packet. An add_* that does not fit returns 0 and leaves the builder as it was.
class RtcpCompoundBuilder {
 public:
  explicit RtcpCompoundBuilder(std::span<uint8_t> out) : out_(out) {}
  size_t add_sender_report(const SenderReport& sr) { return advance(write_sender_report(sr, rest())); }
  size_t add_receiver_report(const ReceiverReport& rr) {
    return advance(write_receiver_report(rr, rest()));
  }
  size_t add_pli(const Pli& pli) { return advance(write_pli(pli, rest())); }
  size_t add_fir(const Fir& fir) { return advance(write_fir(fir, rest())); }
  size_t add_sdes_cname(uint32_t ssrc, std::string_view cname) {
    return advance(write_sdes_cname(ssrc, cname, rest()));
  }
  size_t size() const { return size_; }
  std::span<const uint8_t> data() const { return out_.first(size_); }

 private:
  std::span<uint8_t> rest() const { return out_.subspan(size_); }
  size_t advance(size_t n) {
    size_ += n;
    return n;
  }
  std::span<uint8_t> out_;
  size_t size_ = 0;
};

}  // namespace sipmix::rtp
