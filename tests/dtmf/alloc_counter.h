// Test helper: counts global operator new calls in this test binary, so a test
// can assert that a hot path allocates nothing. Test thread only.
#pragma once

#include <cstdint>

namespace sipmix::dtmf::testing {

uint64_t allocation_count();

}  // namespace sipmix::dtmf::testing
