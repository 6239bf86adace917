#include "gateway/core/ids.h"

#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>

namespace sipmix::gw {
namespace {

void fill_random(unsigned char* out, size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1) {
    std::fputs("sipmixd: RAND_bytes failed: no secure random source, refusing to issue ids\n", stderr);
    std::abort();
  }
}

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

std::string new_uuid_v4() {
  unsigned char b[16];
  fill_random(b, sizeof b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // variant 10xx
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[b[i] >> 4]);
    s.push_back(kHex[b[i] & 0x0f]);
  }
  return s;
}

std::string random_hex(size_t n_bytes) {
  std::string bytes(n_bytes, '\0');
  fill_random(reinterpret_cast<unsigned char*>(bytes.data()), n_bytes);
  std::string s;
  s.reserve(2 * n_bytes);
  for (unsigned char c : bytes) {
    s.push_back(kHex[c >> 4]);
    s.push_back(kHex[c & 0x0f]);
  }
  return s;
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

}  // namespace sipmix::gw
