// Uses only the installed public headers: builds a session with one leg and
// one participant on a simulated clock and checks that the leg gets audio.
#include <sipmix/session.h>

#include <cstdio>

namespace {
struct Sink : sipmix::SessionSink {
  int rtp = 0;
  void on_rtp(const std::string&, sipmix::Direction d, std::span<const uint8_t>) override {
    rtp += d == sipmix::Direction::kToLeg;
  }
  void on_rtcp(const std::string&, sipmix::Direction, std::span<const uint8_t>) override {}
  void on_event(const sipmix::Event&) override {}
};
}  // namespace

int main() {
  sipmix::SimulatedClock clock;
  Sink sink;
  auto s = sipmix::Session::create({}, &clock, &sink);
  if (!s.ok()) return std::fprintf(stderr, "%s\n", s.status().message().c_str()), 1;
  sipmix::StreamConfig a;
  a.id = "alice";
  if (!(*s)->add_stream(a).ok()) return 1;
  sipmix::LegConfig leg;
  leg.id = "sip";
  auto h = (*s)->add_leg(leg);
  if (!h.ok()) return std::fprintf(stderr, "%s\n", h.status().message().c_str()), 1;
  for (int i = 0; i < 50; ++i) {
    clock.advance_us(20000);
    (*s)->tick();
  }
  std::printf("consumer: %d packets to the leg\n", sink.rtp);
  return sink.rtp >= 45 ? 0 : 1;
}
