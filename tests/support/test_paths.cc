#include "tests/support/test_paths.h"

#include <cstdlib>
#include <filesystem>

namespace sipmix::testing {

std::string source_dir() { return SIPMIX_SOURCE_DIR; }

bool file_exists(const std::string& path) { return std::filesystem::exists(path); }

}  // namespace sipmix::testing
