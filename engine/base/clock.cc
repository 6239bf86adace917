#include "sipmix/clock.h"

#include <ctime>

namespace sipmix {

int64_t RealClock::now_us() const {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}

}  // namespace sipmix
