// libFuzzer target: RTCP compound parsing. Whatever parses is rebuilt with
// the builders and parsed again; the decoded packets must be identical.
// fuzz_rtp.cc includes this file (with SIPMIX_FUZZ_RTCP_NO_ENTRY) to reuse
// check_rtcp_round_trip().
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "rtp/rtcp.h"

#define SIPMIX_FUZZ_CHECK(cond)                                                \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                            \
    }                                                                          \
  } while (0)

namespace sipmix::fuzz {

struct RtcpRecord {
  enum Kind { kSr, kRr, kPli, kFir } kind;
  rtp::SenderReport sr;  // sender_ssrc/report_count/reports also used for RR
  rtp::Pli pli;
  rtp::Fir fir;
};

inline bool same_record(const RtcpRecord& a, const RtcpRecord& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case RtcpRecord::kSr:
    case RtcpRecord::kRr:
      if (a.sr.sender_ssrc != b.sr.sender_ssrc || a.sr.report_count != b.sr.report_count) return false;
      if (a.kind == RtcpRecord::kSr && !(a.sr.info == b.sr.info)) return false;
      for (size_t i = 0; i < a.sr.report_count; ++i) {
        if (!(a.sr.reports[i] == b.sr.reports[i])) return false;
      }
      return true;
    case RtcpRecord::kPli:
      return a.pli == b.pli;
    case RtcpRecord::kFir:
      if (a.fir.sender_ssrc != b.fir.sender_ssrc || a.fir.media_ssrc != b.fir.media_ssrc ||
          a.fir.entry_count != b.fir.entry_count)
        return false;
      for (size_t i = 0; i < a.fir.entry_count; ++i) {
        if (!(a.fir.entries[i] == b.fir.entries[i])) return false;
      }
      return true;
  }
  return false;
}

class RtcpRecorder : public rtp::RtcpVisitor {
 public:
  std::vector<RtcpRecord> records;
  size_t others = 0;
  std::span<const uint8_t> input;

  void on_sender_report(const rtp::SenderReport& sr) override {
    SIPMIX_FUZZ_CHECK(sr.report_count <= rtp::kMaxReportBlocks);
    RtcpRecord r{RtcpRecord::kSr, sr, {}, {}};
    records.push_back(r);
  }
  void on_receiver_report(const rtp::ReceiverReport& rr) override {
    SIPMIX_FUZZ_CHECK(rr.report_count <= rtp::kMaxReportBlocks);
    RtcpRecord r{RtcpRecord::kRr, {}, {}, {}};
    r.sr.sender_ssrc = rr.sender_ssrc;
    r.sr.report_count = rr.report_count;
    for (size_t i = 0; i < rr.report_count; ++i) r.sr.reports[i] = rr.reports[i];
    records.push_back(r);
  }
  void on_pli(const rtp::Pli& pli) override { records.push_back({RtcpRecord::kPli, {}, pli, {}}); }
  void on_fir(const rtp::Fir& fir) override {
    SIPMIX_FUZZ_CHECK(fir.entry_count >= 1 && fir.entry_count <= rtp::kMaxFirEntries);
    records.push_back({RtcpRecord::kFir, {}, {}, fir});
  }
  void on_other(uint8_t, uint8_t, std::span<const uint8_t> packet) override {
    // The span must lie inside the parsed input and hold at least a header.
    SIPMIX_FUZZ_CHECK(packet.size() >= rtp::kRtcpHeaderSize && packet.size() % 4 == 0);
    SIPMIX_FUZZ_CHECK(packet.data() >= input.data() &&
                      packet.data() + packet.size() <= input.data() + input.size());
    ++others;
  }
};

inline void check_rtcp_round_trip(std::span<const uint8_t> in) {
  RtcpRecorder first;
  first.input = in;
  if (!rtp::parse_rtcp(in, first)) {
    SIPMIX_FUZZ_CHECK(first.records.empty() && first.others == 0);  // nothing visited when rejected
    return;
  }
  std::vector<uint8_t> out(in.size() * 2 + 64);
  rtp::RtcpCompoundBuilder b(out);
  for (const RtcpRecord& r : first.records) {
    size_t n = 0;
    switch (r.kind) {
      case RtcpRecord::kSr:
        n = b.add_sender_report(r.sr);
        break;
      case RtcpRecord::kRr: {
        rtp::ReceiverReport rr;
        rr.sender_ssrc = r.sr.sender_ssrc;
        rr.report_count = r.sr.report_count;
        for (size_t i = 0; i < rr.report_count; ++i) rr.reports[i] = r.sr.reports[i];
        n = b.add_receiver_report(rr);
        break;
      }
      case RtcpRecord::kPli:
        n = b.add_pli(r.pli);
        break;
      case RtcpRecord::kFir:
        n = b.add_fir(r.fir);
        break;
    }
    SIPMIX_FUZZ_CHECK(n > 0);
  }
  if (first.records.empty()) return;
  RtcpRecorder second;
  second.input = b.data();
  SIPMIX_FUZZ_CHECK(rtp::parse_rtcp(b.data(), second));
  SIPMIX_FUZZ_CHECK(second.others == 0);
  SIPMIX_FUZZ_CHECK(second.records.size() == first.records.size());
  for (size_t i = 0; i < first.records.size(); ++i) {
    SIPMIX_FUZZ_CHECK(same_record(first.records[i], second.records[i]));
  }
}

}  // namespace sipmix::fuzz

#ifndef SIPMIX_FUZZ_RTCP_NO_ENTRY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sipmix::fuzz::check_rtcp_round_trip(std::span<const uint8_t>(data, size));
  return 0;
}
#endif
