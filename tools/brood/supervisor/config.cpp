#include "supervisor/config.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <brood/error.hpp>

#include "supervisor/env_file.hpp"
#include "supervisor/instance_environment.hpp"
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

// --env FILE, else the .env beside the Procfile, into every program's environment.
void add_procfile_environment(loaded_config& loaded, const std::filesystem::path& procfile, const load_options& options) {
    std::filesystem::path file = options.env_file.value_or(procfile.parent_path() / ".env");
    std::error_code ignored;
    if (!options.env_file && !std::filesystem::exists(file, ignored)) return;
    env_file_content content = read_env_file(file, file.string());
    loaded.problems.insert(loaded.problems.end(), content.problems.begin(), content.problems.end());
    for (program_config& program : loaded.programs) program.environment = content.variables;
}

}  // namespace

std::optional<std::filesystem::path> find_config(const std::filesystem::path& directory) {
    for (const char* name : {"brood.toml", "Procfile"}) {
        std::error_code ignored;
        if (std::filesystem::exists(directory / name, ignored)) return directory / name;
    }
    return std::nullopt;
}

namespace {

// A configuration that is one problem about the whole file, and nothing else.
loaded_config only_problem(std::string file, std::string message) {
    loaded_config config;
    config.problems.push_back(about_file(std::move(file), std::move(message)));
    return config;
}

}  // namespace

loaded_config load_config(const std::filesystem::path& file, const load_options& options) {
    const file_text content = read_file(file);
    if (content.error != 0)
        return only_problem(file.string(), "cannot read: " + errno_name(content.error) + ": " + std::strerror(content.error));
    const bool toml = file.extension() == ".toml";
    if (toml && options.env_file)
        return only_problem(options.env_file->string(), "--env is for a Procfile: in brood.toml, name env files with env_file");
    loaded_config loaded = toml ? parse_toml_config(content.text, file.string(), current_environment())
                                : parse_procfile(content.text, file.string());
    if (!toml) add_procfile_environment(loaded, file, options);
    // Relative to the file, not to wherever brood up happens to be run from.
    const std::filesystem::path base = std::filesystem::absolute(file).parent_path();
    for (program_config& program : loaded.programs)
        program.directory = program.directory.empty() ? base : (base / program.directory).lexically_normal();
    return loaded;
}

}  // namespace brood::supervisor
