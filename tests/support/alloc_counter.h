// Counts the global operator new calls of a whole binary, so that a test can
// assert that a hot path allocates nothing. Linking the target
// sipmix_test_alloc_counter replaces every global operator new/delete of the
// binary (kept apart from sipmix_test_support so that no other binary gets
// them). Any thread may allocate; read the count on the test thread.
#pragma once

#include <cstdint>

namespace sipmix::testing {

// Global operator new calls (every form) since the binary started.
uint64_t allocation_count();

}  // namespace sipmix::testing
