#include "common/option_table.hpp"

#include <cstdio>
#include <string_view>

#include <getopt.h>

#include <fmt/core.h>

#include "common/exit_codes.hpp"

namespace brood::cli {

namespace {

// getopt_long returns a short option's own character, a long option's index plus this.
constexpr int long_only = 256;

std::string name_of(const option_text& o) { return fmt::format("--{}", o.long_name); }

void print_help(const command_text& command, std::span<const option_text* const> options) {
    // The layout of CLI11's help, which the other commands print: names in a column of 28.
    const auto row = [](std::string_view name, std::string_view help) {
        fmt::print("  {:<27} {}\n", name, help);
    };
    fmt::print("{}\nUsage: brood {} [OPTIONS] [--] {} [ARGS...]\n\nPositionals:\n", command.description,
               command.name, command.operand);
    row(fmt::format("{} [ARGS...]", command.operand), command.operand_help);
    fmt::print("\nOptions:\n");
    row("-h,--help", "Print this help message and exit");
    for (const option_text* o : options) {
        std::string name = o->short_name != '\0' ? fmt::format("-{},--{}", o->short_name, o->long_name)
                                                 : fmt::format("--{}", o->long_name);
        if (o->value_name != nullptr) name += fmt::format(" {}", o->value_name);
        if (o->default_text != nullptr) name += fmt::format("={}", o->default_text);
        if (o->repeatable) name += " ...";
        row(name, o->help);
    }
    fmt::print("\n{}\n", command.footer);
}

int usage_error(std::string_view message) {
    fmt::print(stderr, "{}\nRun with --help for more information.\n", message);
    return exit_usage;
}

// Whether the option text in argv ("--grace=5s", "--grace") spells the long option out in full:
// getopt_long also takes an unambiguous prefix ("--gra"), which would make adding an option
// change what an existing command line means.
bool spelled_out(const char* text, const char* long_name) {
    const std::string_view given = std::string_view(text).substr(2);
    return given.substr(0, given.find('=')) == long_name;
}

}  // namespace

std::optional<int> read_options(const command_text& command, std::span<const option_text* const> options,
                                int argc, char** argv, option_found found, void* context,
                                std::vector<std::string>& operands) {
    // "+": stop at the first operand, which starts PROGRAM's own arguments; ":": report a missing
    // value apart from an unknown option.
    std::string short_options = "+:h";
    std::vector<::option> long_options;
    for (std::size_t i = 0; i < options.size(); ++i) {
        const option_text& o = *options[i];
        const int takes = o.value_name != nullptr ? required_argument : no_argument;
        if (o.short_name != '\0') {
            short_options += o.short_name;
            if (takes == required_argument) short_options += ':';
        }
        long_options.push_back({o.long_name, takes, nullptr, long_only + static_cast<int>(i)});
    }
    long_options.push_back({"help", no_argument, nullptr, 'h'});
    long_options.push_back({nullptr, 0, nullptr, 0});

    const auto index_of = [&](int code) -> std::optional<std::size_t> {
        if (code >= long_only) return static_cast<std::size_t>(code - long_only);
        for (std::size_t i = 0; i < options.size(); ++i)
            if (code != 0 && options[i]->short_name == code) return i;
        return std::nullopt;
    };
    std::vector<int> times_given(options.size(), 0);
    ::opterr = 0;  // brood prints its own messages
    ::optind = 0;  // 0, not 1: glibc then also forgets the state of an earlier scan
    for (;;) {
        const int at = ::optind == 0 ? 1 : ::optind;
        int long_index = -1;
        const int code = ::getopt_long(argc, argv, short_options.c_str(), long_options.data(), &long_index);
        if (code == -1) break;
        if (long_index >= 0 && !spelled_out(argv[at], long_options[static_cast<std::size_t>(long_index)].name))
            return usage_error(fmt::format("The following argument was not expected: {}", argv[at]));
        if (code == 'h') {
            print_help(command, options);
            return 0;
        }
        if (code == ':') return usage_error(fmt::format("{}: needs a value", name_of(*options[*index_of(::optopt)])));
        if (code == '?') {
            if (::optopt >= long_only)
                return usage_error(fmt::format("{}: takes no value", name_of(*options[*index_of(::optopt)])));
            const std::string given = ::optopt != 0 ? std::string{'-', static_cast<char>(::optopt)} : argv[at];
            return usage_error(fmt::format("The following argument was not expected: {}", given));
        }
        const std::size_t index = *index_of(code);
        const option_text& o = *options[index];
        if (o.value_name != nullptr && !o.repeatable && ++times_given[index] > 1)
            return usage_error(fmt::format("{}: given more than once", name_of(o)));
        if (const std::string wrong = found(context, index, ::optarg); !wrong.empty())
            return usage_error(fmt::format("{}: {}", name_of(o), wrong));
    }
    if (::optind >= argc) return usage_error(fmt::format("{} is required", command.operand));
    operands.assign(argv + ::optind, argv + argc);
    return std::nullopt;
}

}  // namespace brood::cli
