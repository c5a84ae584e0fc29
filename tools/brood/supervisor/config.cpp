#include "supervisor/config.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <brood/error.hpp>

#include "supervisor/procfile.hpp"
#include "supervisor/toml_config.hpp"

namespace brood::supervisor {
namespace {

// The whole file, or the errno that stopped the read.
struct file_text {
    std::string text;
    int error = 0;
};

file_text read_file(const std::filesystem::path& file) {
    const std::unique_ptr<std::FILE, int (*)(std::FILE*)> stream(std::fopen(file.c_str(), "rbe"), &std::fclose);
    if (!stream) return {{}, errno};
    file_text result;
    char buffer[8192];
    while (const std::size_t got = std::fread(buffer, 1, sizeof buffer, stream.get())) result.text.append(buffer, got);
    if (std::ferror(stream.get())) return {{}, errno};
    return result;
}

}  // namespace

std::optional<std::filesystem::path> find_config(const std::filesystem::path& directory) {
    for (const char* name : {"brood.toml", "Procfile"}) {
        std::error_code ignored;
        if (std::filesystem::exists(directory / name, ignored)) return directory / name;
    }
    return std::nullopt;
}

loaded_config load_config(const std::filesystem::path& file) {
    const file_text content = read_file(file);
    if (content.error != 0)
        return {{}, {{{file.string()}, "cannot read: " + errno_name(content.error) + ": " + std::strerror(content.error)}}, std::nullopt, false};
    loaded_config loaded = file.extension() == ".toml" ? parse_toml_config(content.text, file.string())
                                                       : parse_procfile(content.text, file.string());
    // Relative to the file, not to wherever brood up happens to be run from.
    const std::filesystem::path base = std::filesystem::absolute(file).parent_path();
    for (program_config& program : loaded.programs)
        program.directory = program.directory.empty() ? base : (base / program.directory).lexically_normal();
    return loaded;
}

}  // namespace brood::supervisor
