#include "supervisor/procfile.hpp"

#include <map>

#include "supervisor/program_name.hpp"

namespace brood::supervisor {
namespace {

std::string_view trim(std::string_view text) {
    const std::size_t begin = text.find_first_not_of(" \t");
    if (begin == std::string_view::npos) return {};
    return text.substr(begin, text.find_last_not_of(" \t") + 1 - begin);
}

}  // namespace

loaded_config parse_procfile(std::string_view text, const std::string& file_name) {
    loaded_config result;
    std::map<std::string, unsigned, std::less<>> first_line;  // name -> line that defined it
    unsigned line_number = 0;
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        ++line_number;
        if (line.ends_with('\r')) line.remove_suffix(1);
        line = trim(line);
        if (line.empty() || line.front() == '#') continue;

        const position where{file_name, line_number, 0};
        auto report = [&](std::string message) { result.problems.push_back({where, std::move(message)}); };
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) {
            report("expected \"name: command\"");
            continue;
        }
        const std::string name(trim(line.substr(0, colon)));
        const std::string command(trim(line.substr(colon + 1)));
        if (name.empty()) {
            report("expected a program name before ':'");
            continue;
        }
        if (!valid_program_name(name)) report(std::string(program_name_rule) + ", found \"" + name + "\"");
        if (command.empty()) report("program \"" + name + "\" has no command");
        if (auto [it, added] = first_line.try_emplace(name, line_number); !added) {
            report("program \"" + name + "\" is defined twice (first on line " + std::to_string(it->second) + ")");
            continue;
        }
        program_config program;
        program.name = name;
        program.shell = true;
        program.argv = {"/bin/sh", "-c", command};
        program.where = where;
        result.programs.push_back(std::move(program));
    }
    if (result.programs.empty() && result.problems.empty())
        result.problems.push_back(about_file(file_name, "no programs: add lines of the form \"name: command\""));
    return result;
}

}  // namespace brood::supervisor
