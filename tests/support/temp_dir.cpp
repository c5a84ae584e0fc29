#include "support/temp_dir.hpp"

#include <cerrno>
#include <cstdlib>
#include <system_error>

namespace brood::testing {

temp_dir::temp_dir(const std::string& purpose) {
    std::string pattern = (std::filesystem::temp_directory_path() / ("brood-" + purpose + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    path_ = pattern;
}

temp_dir::~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

}  // namespace brood::testing
