#include "supervisor/toml_config.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <set>
#include <span>
#include <tuple>

#include <brood/signal.hpp>

#include "supervisor/byte_size.hpp"
#include "supervisor/closest_word.hpp"
#include "supervisor/duration.hpp"
#include "supervisor/program_name.hpp"
#include "supervisor/shell_words.hpp"
#include "supervisor/toml.hpp"
#include "supervisor/validate.hpp"

namespace brood::supervisor {
namespace {

using namespace std::string_view_literals;

constexpr std::array top_keys{"programs"sv, "shutdown_timeout"sv};
constexpr std::array program_keys{
    "command"sv,     "shell"sv,       "instances"sv,  "port"sv,          "directory"sv,   "environment"sv,
    "autostart"sv,   "restart"sv,     "backoff"sv,    "start_limit"sv,   "start_seconds"sv, "ready"sv,
    "depends_on"sv,  "stop_signal"sv, "stop_timeout"sv, "log"sv,         "essential"sv,
};
constexpr std::array backoff_keys{"initial"sv, "max"sv, "jitter"sv};
constexpr std::array start_limit_keys{"burst"sv, "interval"sv};
constexpr std::array log_keys{"max_size"sv, "keep"sv, "timestamps"sv, "format"sv, "to"sv};
constexpr std::array log_format_names{"plain"sv, "json"sv};
constexpr std::array log_to_names{"file"sv, "stdout"sv};
// In the order of restart_policy and ready_check: the index found is the enum's value.
constexpr std::array restart_names{"always"sv, "on-failure"sv, "never"sv};
constexpr std::array ready_names{"started"sv, "tcp"sv, "notify"sv};

// Bounds that catch typos without getting in anyone's way.
constexpr std::int64_t max_instances = 1000;
constexpr std::int64_t max_burst = 1000;
constexpr std::int64_t max_keep = 1000;

// A key as TOML would need it written: bare when it can be, quoted otherwise.
std::string key_text(std::string_view key) {
    if (valid_program_name(key)) return std::string(key);  // same rule as TOML's bare keys
    std::string quoted = "\"";
    for (char c : key) {
        if (c == '"' || c == '\\') quoted += '\\';
        quoted += c;
    }
    return quoted + '"';
}

std::string join(const std::string& parent, std::string_view key) {
    return parent.empty() ? key_text(key) : parent + "." + key_text(key);
}

std::string type_name(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::string: return "a string";
        case toml::node_type::integer: return "an integer";
        case toml::node_type::floating_point: return "a float";
        case toml::node_type::boolean: return "a boolean";
        case toml::node_type::array: return "an array";
        case toml::node_type::table: return "a table";
        case toml::node_type::date: return "a date";
        case toml::node_type::time: return "a time";
        case toml::node_type::date_time: return "a date-time";
        case toml::node_type::none: break;
    }
    return "nothing";
}

std::string number_text(double value) {
    std::array<char, 32> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    return std::string(buffer.data(), result.ptr);
}

// The value as the user wrote it, for "found ..." in messages.
std::string shown(const toml::node& node) {
    if (const auto* s = node.as_string()) return "\"" + s->get() + "\"";
    if (const auto* i = node.as_integer()) return std::to_string(i->get());
    if (const auto* f = node.as_floating_point()) return number_text(f->get());
    if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
    return type_name(node);
}

// "\"a\", \"b\" or \"c\""
std::string alternatives(std::span<const std::string_view> choices) {
    std::string text;
    for (std::size_t i = 0; i < choices.size(); ++i) {
        if (i != 0) text += i + 1 == choices.size() ? " or " : ", ";
        text += "\"" + std::string(choices[i]) + "\"";
    }
    return text;
}

bool is_job_control(int signal) {
    return signal == SIGSTOP || signal == SIGTSTP || signal == SIGTTIN || signal == SIGTTOU || signal == SIGCONT;
}

// A value in the file and the dotted path that names it in messages.
struct field {
    const toml::node& node;
    std::string path;
};

// Reads values, reporting every problem it meets; each read returns nullopt after a report.
class reader {
public:
    explicit reader(std::string file) : file_(std::move(file)) {}

    std::vector<problem> take_problems() { return std::move(problems_); }

    position at(const toml::source_region& region) const {
        return {file_, static_cast<unsigned>(region.begin.line), static_cast<unsigned>(region.begin.column)};
    }

    void report(const toml::source_region& region, const std::string& path, std::string message) {
        problems_.push_back({at(region), path + ": " + message});
    }
    void wrong_type(const field& f, std::string_view expected) {
        report(f.node.source(), f.path, "expected " + std::string(expected) + ", found " + type_name(f.node));
    }
    void wrong_value(const field& f, std::string_view expected) {
        report(f.node.source(), f.path, "expected " + std::string(expected) + ", found " + shown(f.node));
    }

    // Reports every key of table that is not one of allowed, at the key.
    void check_keys(const toml::table& table, const std::string& path, std::span<const std::string_view> allowed) {
        for (auto&& [key, value] : table) {
            if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
            std::string message = "unknown key";
            if (auto near = closest_word(key.str(), allowed)) message += " (did you mean \"" + std::string(*near) + "\"?)";
            report(key.source(), join(path, key.str()), std::move(message));
        }
    }

    std::optional<field> at(const toml::table& table, std::string_view key, const std::string& path) const {
        if (const toml::node* node = table.get(key)) return field{*node, join(path, key)};
        return std::nullopt;
    }

    const toml::table* table(const field& f) {
        if (const auto* t = f.node.as_table()) return t;
        wrong_type(f, "a table");
        return nullptr;
    }

    std::optional<bool> boolean(const field& f) {
        if (const auto* b = f.node.as_boolean()) return b->get();
        wrong_type(f, "true or false");
        return std::nullopt;
    }

    std::optional<std::string> string(const field& f) {
        if (const auto* s = f.node.as_string()) return s->get();
        wrong_type(f, "a string");
        return std::nullopt;
    }

    std::optional<std::int64_t> integer(const field& f, std::int64_t min, std::int64_t max) {
        const std::string expected = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
        const auto* i = f.node.as_integer();
        if (!i) wrong_type(f, expected);
        else if (i->get() < min || i->get() > max) wrong_value(f, expected);
        else return i->get();
        return std::nullopt;
    }

    std::optional<double> number(const field& f, double min, double max) {
        const std::string expected = "a number from " + number_text(min) + " to " + number_text(max);
        if (!f.node.is_number()) {
            wrong_type(f, expected);
            return std::nullopt;
        }
        const double value = f.node.value<double>().value_or(0);
        if (value >= min && value <= max) return value;
        wrong_value(f, expected);
        return std::nullopt;
    }

    // "500ms", "2s", "1m" or a number of seconds; never negative.
    std::optional<std::chrono::milliseconds> duration(const field& f) {
        constexpr std::string_view expected = "a duration such as \"500ms\", \"2s\" or \"1m\", or a number of seconds";
        std::optional<std::chrono::milliseconds> value;
        if (const auto* s = f.node.as_string()) value = parse_duration(s->get());
        else if (f.node.is_number()) value = duration_from_seconds(f.node.value<double>().value_or(0));
        else {
            wrong_type(f, expected);
            return std::nullopt;
        }
        if (!value) wrong_value(f, expected);
        else if (value->count() < 0) wrong_value(f, "a duration of zero or more");
        else return value;
        return std::nullopt;
    }

    std::optional<std::uint64_t> byte_size(const field& f) {
        constexpr std::string_view expected = "a size such as \"10M\", or a number of bytes";
        std::optional<std::uint64_t> value;
        if (const auto* s = f.node.as_string()) value = parse_byte_size(s->get());
        else if (const auto* i = f.node.as_integer()) {
            if (i->get() >= 0) value = static_cast<std::uint64_t>(i->get());
        } else {
            wrong_type(f, expected);
            return std::nullopt;
        }
        if (!value) wrong_value(f, expected);
        return value;
    }

    // The index of the string among choices.
    std::optional<std::size_t> choice(const field& f, std::span<const std::string_view> choices) {
        const std::string expected = alternatives(choices);
        const auto* s = f.node.as_string();
        if (!s) {
            wrong_type(f, expected);
            return std::nullopt;
        }
        const auto it = std::find(choices.begin(), choices.end(), s->get());
        if (it != choices.end()) return static_cast<std::size_t>(it - choices.begin());
        wrong_value(f, expected);
        return std::nullopt;
    }

    // A signal that can end a program: a name ("SIGTERM", "TERM", "term") or a number.
    std::optional<int> stop_signal(const field& f) {
        std::optional<int> signal;
        if (const auto* s = f.node.as_string()) {
            signal = parse_signal(s->get());
            if (!signal) report(f.node.source(), f.path, "unknown signal name " + shown(f.node));
        } else if (const auto* i = f.node.as_integer()) {
            signal = parse_signal(std::to_string(i->get()));
            if (!signal) report(f.node.source(), f.path, "unknown signal number " + shown(f.node));
        } else {
            wrong_type(f, "a signal name such as \"SIGTERM\"");
        }
        if (signal && is_job_control(*signal)) {
            report(f.node.source(), f.path, signal_name(*signal) + " pauses or continues a program; it cannot stop one");
            return std::nullopt;
        }
        return signal;
    }

    program_config program(const toml::key& name, const toml::table& table);

private:
    void command(const toml::table& table, const std::string& path, program_config& program);
    void environment(const field& f, program_config& program);
    void depends_on(const field& f, program_config& program);
    void backoff(const field& f, backoff_config& backoff);
    void start_limit(const field& f, start_limit_config& limit);
    void log(const field& f, log_config& log);

    std::string file_;
    std::vector<problem> problems_;
};

void reader::command(const toml::table& table, const std::string& path, program_config& program) {
    if (auto f = at(table, "shell", path))
        if (auto v = boolean(*f)) program.shell = *v;
    const auto f = at(table, "command", path);
    if (!f) {
        report(table.source(), path, "missing key \"command\"");
        return;
    }
    if (const auto* text = f->node.as_string()) {
        if (program.shell) {
            program.argv = {"/bin/sh", "-c", text->get()};
            if (text->get().find_first_not_of(" \t\n") == std::string::npos) program.argv.clear();
        } else {
            shell_words split = split_shell_words(text->get());
            if (split.error) {
                report(f->node.source(), f->path, *split.error);
                return;
            }
            program.argv = std::move(split.words);
        }
    } else if (const auto* words = f->node.as_array()) {
        if (program.shell) {
            report(f->node.source(), f->path, "shell = true needs the command as one string");
            return;
        }
        for (const toml::node& word : *words)
            if (auto v = string({word, f->path})) program.argv.push_back(*v);
        if (program.argv.size() != words->size()) return;  // a bad word was reported
    } else {
        wrong_type(*f, "a string or an array of strings");
        return;
    }
    if (program.argv.empty() || program.argv.front().empty()) report(f->node.source(), f->path, "the command is empty");
}

void reader::environment(const field& f, program_config& program) {
    const toml::table* variables = table(f);
    if (!variables) return;
    for (auto&& [key, value] : *variables) {
        const std::string path = join(f.path, key.str());
        if (key.str().empty() || key.str().find('=') != std::string::npos) {
            report(key.source(), path, "environment variable names cannot be empty or contain '='");
            continue;
        }
        // Numbers and booleans are taken as the text they are written as: PORT = 80 means "80".
        std::optional<std::string> text;
        if (const auto* s = value.as_string()) text = s->get();
        else if (const auto* i = value.as_integer()) text = std::to_string(i->get());
        else if (const auto* b = value.as_boolean()) text = b->get() ? "true" : "false";
        if (text) program.environment[std::string(key.str())] = std::move(*text);
        else wrong_type({value, path}, "a string");
    }
}

void reader::depends_on(const field& f, program_config& program) {
    const auto* names = f.node.as_array();
    if (!names) {
        wrong_type(f, "an array of program names");
        return;
    }
    std::set<std::string, std::less<>> seen;
    for (const toml::node& entry : *names) {
        auto name = string({entry, f.path});
        if (!name) continue;
        if (!seen.insert(*name).second) {
            report(entry.source(), f.path, "\"" + *name + "\" is listed twice");
            continue;
        }
        program.depends_on.push_back({*name, at(entry.source())});
    }
}

void reader::backoff(const field& f, backoff_config& backoff) {
    const toml::table* t = table(f);
    if (!t) return;
    check_keys(*t, f.path, backoff_keys);
    auto initial = at(*t, "initial", f.path), max = at(*t, "max", f.path);
    if (initial)
        if (auto v = duration(*initial)) backoff.initial = *v;
    if (max)
        if (auto v = duration(*max)) backoff.max = *v;
    if (auto jitter = at(*t, "jitter", f.path))
        if (auto v = number(*jitter, 0, 1)) backoff.jitter = *v;
    if (backoff.initial > backoff.max)
        report(f.node.source(), f.path, "initial (" + format_duration(backoff.initial) + ") is longer than max (" +
                                            format_duration(backoff.max) + ")");
}

void reader::start_limit(const field& f, start_limit_config& limit) {
    const toml::table* t = table(f);
    if (!t) return;
    check_keys(*t, f.path, start_limit_keys);
    if (auto burst = at(*t, "burst", f.path))
        if (auto v = integer(*burst, 1, max_burst)) limit.burst = static_cast<unsigned>(*v);
    if (auto interval = at(*t, "interval", f.path))
        if (auto v = duration(*interval)) limit.interval = *v;
}

void reader::log(const field& f, log_config& log) {
    const toml::table* t = table(f);
    if (!t) return;
    check_keys(*t, f.path, log_keys);
    if (auto max_size = at(*t, "max_size", f.path)) {
        static_assert(log_config::smallest_max_size == 64 * 1024, "the message names it");
        const auto v = byte_size(*max_size);
        if (v && *v != 0 && *v < log_config::smallest_max_size)
            wrong_value(*max_size, "0 (never rotate) or at least \"64K\", the longest line held whole");
        else if (v)
            log.max_size = *v;
    }
    if (auto keep = at(*t, "keep", f.path))
        if (auto v = integer(*keep, 0, max_keep)) log.keep = static_cast<unsigned>(*v);
    if (auto timestamps = at(*t, "timestamps", f.path))
        if (auto v = boolean(*timestamps)) log.timestamps = *v;
    if (auto format = at(*t, "format", f.path))
        if (auto v = choice(*format, log_format_names)) log.format = static_cast<log_format>(*v);
    if (auto to = at(*t, "to", f.path))
        if (auto v = choice(*to, log_to_names)) log.to = static_cast<log_destination>(*v);
}

program_config reader::program(const toml::key& name, const toml::table& t) {
    const std::string path = join("programs", name.str());
    program_config program;
    program.name = name.str();
    program.where = at(t.source());
    if (!valid_program_name(name.str())) report(name.source(), path, std::string(program_name_rule));
    check_keys(t, path, program_keys);

    command(t, path, program);
    if (auto f = at(t, "instances", path))
        if (auto v = integer(*f, 1, max_instances)) program.instances = static_cast<unsigned>(*v);
    const auto port = at(t, "port", path);
    if (port)
        if (auto v = integer(*port, 1, 65535)) program.port = static_cast<std::uint16_t>(*v);
    if (program.port && *program.port + program.instances - 1 > 65535)
        report(port->node.source(), port->path,
               "ports " + std::to_string(*program.port) + " to " + std::to_string(*program.port + program.instances - 1) +
                   " for " + std::to_string(program.instances) + " instances go past 65535");
    if (auto f = at(t, "directory", path))
        if (auto v = string(*f)) program.directory = *v;
    if (auto f = at(t, "environment", path)) environment(*f, program);
    if (auto f = at(t, "autostart", path))
        if (auto v = boolean(*f)) program.autostart = *v;
    if (auto f = at(t, "restart", path))
        if (auto v = choice(*f, restart_names)) program.restart = static_cast<restart_policy>(*v);
    if (auto f = at(t, "backoff", path)) backoff(*f, program.backoff);
    if (auto f = at(t, "start_limit", path)) start_limit(*f, program.start_limit);
    if (auto f = at(t, "start_seconds", path))
        if (auto v = duration(*f)) program.start_seconds = *v;
    if (auto f = at(t, "ready", path))
        if (auto v = choice(*f, ready_names)) {
            program.ready = static_cast<ready_check>(*v);
            if (program.ready == ready_check::tcp && !port)
                report(f->node.source(), f->path, "\"tcp\" checks the program's port, and it has none: set port");
        }
    if (auto f = at(t, "depends_on", path)) depends_on(*f, program);
    if (auto f = at(t, "stop_signal", path))
        if (auto v = stop_signal(*f)) program.stop_signal = *v;
    if (auto f = at(t, "stop_timeout", path))
        if (auto v = duration(*f)) program.stop_timeout = *v;
    if (auto f = at(t, "log", path)) log(*f, program.log);
    if (auto f = at(t, "essential", path))
        if (auto v = boolean(*f)) program.essential = *v;
    return program;
}

}  // namespace

loaded_config parse_toml_config(std::string_view text, const std::string& file_name) {
    reader read(file_name);
    toml::table root;
    try {
        root = toml::parse(text, std::string_view(file_name));
    } catch (const toml::parse_error& e) {
        return {{}, {{read.at(e.source()), std::string(e.description())}}, std::nullopt};
    }

    loaded_config result;
    read.check_keys(root, "", top_keys);
    if (auto f = read.at(root, "shutdown_timeout", ""))
        if (auto v = read.duration(*f)) result.shutdown_timeout = *v;
    if (auto programs = read.at(root, "programs", ""))
        if (const toml::table* table = read.table(*programs))
            for (auto&& [name, value] : *table)
                if (const toml::table* program = read.table({value, join("programs", name.str())}))
                    result.programs.push_back(read.program(name, *program));

    // toml++ keeps keys sorted; programs go in the order the file gives them.
    std::stable_sort(result.programs.begin(), result.programs.end(), [](const auto& a, const auto& b) {
        return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
    });
    result.problems = read.take_problems();
    if (result.programs.empty() && result.problems.empty())
        result.problems.push_back({{file_name}, "no programs: add a [programs.NAME] table with a command"});
    const std::vector<problem> dependency_problems = check_dependencies(result.programs);
    result.problems.insert(result.problems.end(), dependency_problems.begin(), dependency_problems.end());
    sort_by_position(result.problems);
    return result;
}

}  // namespace brood::supervisor
