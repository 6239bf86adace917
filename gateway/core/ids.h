// Identifiers and random values for sipmixd: UUID v4 for calls, connections
// and streams, and hex nonces. Backed by OpenSSL's RAND_bytes; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sipmix::gw {

// A random (version 4, RFC 9562) UUID, lower-case with hyphens. Aborts if the
// system's CSPRNG fails: no id may be issued from a predictable source.
std::string new_uuid_v4();

// n random bytes as 2n lower-case hex characters.
std::string random_hex(size_t n_bytes);

// True for the canonical 8-4-4-4-12 hex form (any version, either case).
bool is_uuid(std::string_view s);

}  // namespace sipmix::gw
