// Paths shared by the test suites: the source tree and Debian's test data.
#pragma once

#include <string>

namespace sipmix::testing {

inline constexpr const char* kSipTesterDir = "/usr/share/sip-tester";
inline constexpr const char* kPromptDir = "/usr/share/asterisk/sounds/en_US_f_Allison";

std::string source_dir();
bool file_exists(const std::string& path);

}  // namespace sipmix::testing
