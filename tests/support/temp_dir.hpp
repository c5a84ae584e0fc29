// A temporary directory for one test, removed with everything in it.
#pragma once

#include <filesystem>
#include <string>

namespace brood::testing {

class temp_dir {
public:
    // Creates /tmp/brood-<purpose>-XXXXXX (under $TMPDIR when set).
    explicit temp_dir(const std::string& purpose = "test");
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

}  // namespace brood::testing
