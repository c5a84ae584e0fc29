// A command's options as a table, read with glibc's getopt_long: the one source of its command
// line, its --help and its usage errors. For brood run and brood watch, whose start is on a
// container's critical path: CLI11 would first build an object per option (about 120,000
// instructions and a dozen page faults before the program is spawned); a table costs nothing.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/duration.hpp"
#include "common/value_checks.hpp"

namespace brood::cli {

// One option as --help shows it and getopt_long reads it.
struct option_text {
    char short_name;           // '\0': none
    const char* long_name;     // without its "--"
    const char* value_name;    // nullptr: a flag, which takes no value
    const char* default_text;  // shown in --help; nullptr: none
    bool repeatable;           // may be given more than once (otherwise that is a usage error)
    const char* help;
};

// One option and what it does to a command's options.
template <class Options>
struct option : option_text {
    // Takes the option's value (nullptr for a flag); returns what is wrong with it, or "".
    std::string (*apply)(Options&, const char* value);
};

// The apply of a flag: sets the bool member of Options it names.
template <class Options, bool Options::*member>
std::string set_flag(Options& options, const char*) {
    options.*member = true;
    return std::string();
}

// The apply of a duration ("5s", "500ms"): sets the milliseconds member of Options it names, or
// says what was wrong.
template <class Options, std::chrono::milliseconds Options::*member>
std::string set_duration(Options& options, const char* value) {
    const auto duration = parse_duration(value);
    if (!duration) return check_duration(value);
    options.*member = *duration;
    return std::string();
}

struct command_text {
    const char* name;         // "run", as in "brood run"
    const char* description;  // first in --help
    const char* operand;       // "PROGRAM": required; it and every argument after it are the operands
    const char* operand_help;  // what it and its ARGS are
    const char* footer;  // last in --help: exit status, examples
};

// Reads the options of argv[1..] until "--" or the first operand, then takes the rest as operands.
// found(context, index, value) applies the option at index of options. Returns nullopt to go on,
// or the exit code brood ends with: 0 after printing --help to stdout, 2 after a usage error
// printed to stderr.
using option_found = std::string (*)(void* context, std::size_t index, const char* value);
std::optional<int> read_options(const command_text& command, std::span<const option_text* const> options,
                                int argc, char** argv, option_found found, void* context,
                                std::vector<std::string>& operands);

template <class Options, std::size_t N>
std::optional<int> read_command_line(const command_text& command, const option<Options> (&table)[N],
                                     int argc, char** argv, Options& options,
                                     std::vector<std::string>& operands) {
    std::array<const option_text*, N> texts;
    for (std::size_t i = 0; i < N; ++i) texts[i] = &table[i];
    struct target {
        const option<Options>* table;
        Options* options;
    } t{table, &options};
    const option_found apply = [](void* context, std::size_t index, const char* value) {
        const target& to = *static_cast<const target*>(context);
        return to.table[index].apply(*to.options, value);
    };
    return read_options(command, texts, argc, argv, apply, &t, operands);
}

}  // namespace brood::cli
