// libFuzzer target: the supervisor's configuration loader (brood.toml through toml++, Procfile by
// hand) on arbitrary bytes. The first byte picks the format. Problems are expected; crashes,
// hangs, leaks and exceptions are not.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "supervisor/config.hpp"

namespace {

// One directory per fuzzing process, removed at exit.
const std::filesystem::path& scratch() {
    static const struct directory {
        std::filesystem::path path;
        directory() {
            std::string name = (std::filesystem::temp_directory_path() / "brood-fuzz-config-XXXXXX").string();
            if (::mkdtemp(name.data()) == nullptr) std::abort();
            path = name;
        }
        ~directory() { std::filesystem::remove_all(path); }
    } dir;
    return dir.path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::filesystem::path file = scratch() / ((data[0] & 1) ? "brood.toml" : "Procfile");
    {
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
    }
    const auto loaded = brood::supervisor::load_config(file);
    for (const auto& p : loaded.problems) (void)to_string(p);
    return 0;
}
