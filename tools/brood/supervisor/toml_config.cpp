#include "supervisor/toml_config.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <set>
#include <span>
#include <tuple>

#include <unistd.h>

#include <brood/cgroup.hpp>
#include <brood/signal.hpp>

#include "supervisor/byte_size.hpp"
#include "supervisor/closest_word.hpp"
#include "supervisor/duration.hpp"
#include "supervisor/env_file.hpp"
#include "supervisor/program_name.hpp"
#include "supervisor/shell_words.hpp"
#include "supervisor/toml.hpp"
#include "supervisor/user_resolution.hpp"
#include "supervisor/validate.hpp"
#include "supervisor/variable_expansion.hpp"

namespace brood::supervisor {
namespace {

using namespace std::string_view_literals;

constexpr std::array top_keys{"programs"sv, "shutdown_timeout"sv, "exit_when"sv, "http"sv};
constexpr std::array http_keys{"listen"sv, "token_file"sv};
constexpr std::array exit_when_names{"all-completed"sv};
constexpr std::array condition_names{"started"sv, "ready"sv, "completed_successfully"sv, "healthy"sv};
constexpr std::array program_keys{
    "command"sv,     "shell"sv,       "instances"sv,  "port"sv,          "directory"sv,   "environment"sv,
    "autostart"sv,   "restart"sv,     "backoff"sv,    "start_limit"sv,   "start_seconds"sv, "ready"sv,
    "depends_on"sv,  "stop_signal"sv, "stop_timeout"sv, "log"sv,         "essential"sv,   "env_file"sv,
    "user"sv,        "group"sv,       "umask"sv,       "limits"sv,      "memory_max"sv,
    "memory_high"sv, "pids_max"sv,    "cpu_weight"sv,  "cpu_max"sv,     "success_exit_codes"sv,
    "watchdog"sv,    "watchdog_signal"sv, "tty"sv,     "health"sv,
};
constexpr std::array health_keys{"exec"sv,    "http"sv,    "tcp"sv,         "interval"sv,
                                 "timeout"sv, "retries"sv, "start_period"sv, "on_unhealthy"sv};
// In the order of health_kind and unhealthy_action.
constexpr std::array health_kind_keys{"exec"sv, "http"sv, "tcp"sv};
constexpr std::array unhealthy_names{"restart"sv, "none"sv};
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
    reader(std::string file, const std::map<std::string, std::string>& brood_environment)
        : file_(std::move(file)), brood_environment_(brood_environment) {}

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
    void http(const field& f, const std::filesystem::path& directory, http_config& http);

private:
    void command(const toml::table& table, const std::string& path, program_config& program);
    std::optional<std::vector<std::string>> command_words(const field& f, const program_config& program);
    void health(const field& f, program_config& program);
    std::optional<std::chrono::milliseconds> positive_duration(const field& f);
    void env_files(const field& f, program_config& program);
    void run_as(const toml::table& table, const std::string& path, program_config& program);
    void limits(const field& f, program_config& program);
    void cgroup_limits(const toml::table& table, const std::string& path, program_config& program);
    std::optional<rlim_t> limit_value(const field& f, bool size);
    std::optional<std::string> name_or_number(const field& f, std::string_view what);
    void environment(const field& f, program_config& program);
    std::optional<std::string> expand(const field& f, const std::string& text, const program_config& program);
    void depends_on(const field& f, program_config& program);
    void success_exit_codes(const field& f, program_config& program);
    void backoff(const field& f, backoff_config& backoff);
    void start_limit(const field& f, start_limit_config& limit);
    void log(const field& f, log_config& log);

    std::string file_;
    const std::map<std::string, std::string>& brood_environment_;
    std::vector<problem> problems_;
    user_lookups lookups_;
};

// ${VAR} in a value of f, from brood's environment under program.environment as read so far: the
// env files while the environment table is read, then the table too. PORT and BROOD_INSTANCE
// differ from one instance to the next and are only known at its start.
std::optional<std::string> reader::expand(const field& f, const std::string& text, const program_config& program) {
    const std::map<std::string, std::string>& below = program.environment;
    std::optional<std::string> per_instance;
    const expansion e = expand_variables(text, [&](std::string_view name) -> std::optional<std::string> {
        if (name == "PORT" || name == "BROOD_INSTANCE") {
            per_instance = std::string(name);
            return "";
        }
        const std::string key(name);
        if (const auto it = below.find(key); it != below.end()) return it->second;
        if (const auto it = brood_environment_.find(key); it != brood_environment_.end()) return it->second;
        return std::nullopt;
    });
    if (per_instance) {
        report(f.node.source(), f.path,
               "${" + *per_instance + "} is set for each instance as it starts: use shell = true and $" + *per_instance);
        return std::nullopt;
    }
    if (e.error) {
        report(f.node.source(), f.path, *e.error);
        return std::nullopt;
    }
    return e.text;
}

void reader::command(const toml::table& table, const std::string& path, program_config& program) {
    if (auto f = at(table, "shell", path))
        if (auto v = boolean(*f)) program.shell = *v;
    const auto f = at(table, "command", path);
    if (!f) {
        report(table.source(), path, "missing key \"command\"");
        return;
    }
    if (auto words = command_words(*f, program)) program.argv = std::move(*words);
}

// A command as command takes it: one string, split into words as a shell would (or given to
// /bin/sh -c with shell = true), or an array of words; ${VAR} expanded. Reports what is wrong.
std::optional<std::vector<std::string>> reader::command_words(const field& f, const program_config& program) {
    std::vector<std::string> argv;
    if (f.node.is_string()) {
        const std::optional<std::string> text = expand(f, f.node.as_string()->get(), program);
        if (!text) return std::nullopt;
        if (program.shell) {
            if (text->find_first_not_of(" \t\n") != std::string::npos) argv = {"/bin/sh", "-c", *text};
        } else {
            shell_words split = split_shell_words(*text);
            if (split.error) {
                report(f.node.source(), f.path, *split.error);
                return std::nullopt;
            }
            argv = std::move(split.words);
        }
    } else if (const auto* words = f.node.as_array()) {
        if (program.shell) {
            report(f.node.source(), f.path, "shell = true needs the command as one string");
            return std::nullopt;
        }
        for (const toml::node& word : *words)
            if (auto v = string({word, f.path}))
                if (auto expanded = expand({word, f.path}, *v, program)) argv.push_back(*expanded);
        if (argv.size() != words->size()) return std::nullopt;  // a bad word was reported
    } else {
        wrong_type(f, "a string or an array of strings");
        return std::nullopt;
    }
    if (argv.empty() || argv.front().empty()) {
        report(f.node.source(), f.path, "the command is empty");
        return std::nullopt;
    }
    return argv;
}

std::optional<std::chrono::milliseconds> reader::positive_duration(const field& f) {
    const std::optional<std::chrono::milliseconds> v = duration(f);
    if (v && v->count() == 0) {
        wrong_value(f, "a duration above zero");
        return std::nullopt;
    }
    return v;
}

// health = { exec = "pg_isready", interval = "5s" }, { http = "/healthz" } or { tcp = true }.
void reader::health(const field& f, program_config& program) {
    const toml::table* t = table(f);
    if (!t) return;
    check_keys(*t, f.path, health_keys);
    health_config check;
    std::vector<std::string_view> kinds;
    for (std::size_t k = 0; k < health_kind_keys.size(); ++k)
        if (t->contains(health_kind_keys[k])) {
            kinds.push_back(health_kind_keys[k]);
            check.kind = static_cast<health_kind>(k);
        }
    if (kinds.size() != 1) {
        report(f.node.source(), f.path,
               kinds.empty() ? "give the check: exec, http or tcp"
                             : "give one check, exec, http or tcp, not " + alternatives(kinds));
        return;
    }
    const field what = *at(*t, kinds.front(), f.path);
    bool ok = true;
    switch (check.kind) {
        case health_kind::exec:
            if (auto words = command_words(what, program)) check.argv = std::move(*words);
            else ok = false;
            break;
        case health_kind::http:
            if (auto path = string(what); !path) {
                ok = false;
            } else if (path->empty() || path->front() != '/' || path->find_first_of(" \r\n") != std::string::npos) {
                wrong_value(what, "a URL path such as \"/healthz\"");
                ok = false;
            } else {
                check.path = *path;
            }
            break;
        case health_kind::tcp:
            if (auto v = boolean(what); !v || !*v) {
                if (v) wrong_value(what, "true (leave health out for no check)");
                ok = false;
            }
            break;
    }
    if (check.kind != health_kind::exec && !program.port) {
        report(what.node.source(), what.path, "checks the program's port, and it has none: set port");
        ok = false;
    }
    if (auto v = at(*t, "interval", f.path))
        if (auto d = positive_duration(*v)) check.interval = *d;
    if (auto v = at(*t, "timeout", f.path))
        if (auto d = positive_duration(*v)) check.timeout = *d;
    if (auto v = at(*t, "start_period", f.path))
        if (auto d = duration(*v)) check.start_period = *d;
    if (auto v = at(*t, "retries", f.path))
        if (auto n = integer(*v, 1, max_burst)) check.retries = static_cast<unsigned>(*n);
    if (auto v = at(*t, "on_unhealthy", f.path))
        if (auto c = choice(*v, unhealthy_names)) check.on_unhealthy = static_cast<unhealthy_action>(*c);
    if (ok) program.health = std::move(check);
}

// Its values see the env files and brood's environment, not each other, so a value naming its own
// key ("PATH = \"${PATH}:/opt/bin\"") takes the value from below.
void reader::environment(const field& f, program_config& program) {
    const toml::table* variables = table(f);
    if (!variables) return;
    std::map<std::string, std::string> table_values;
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
        if (!text) wrong_type({value, path}, "a string");
        else if (auto expanded = expand({value, path}, *text, program))
            table_values[std::string(key.str())] = std::move(*expanded);
    }
    for (auto& [key, value] : table_values) program.environment[key] = std::move(value);
}

// A user or group: a name, or a number written as an integer or a string.
std::optional<std::string> reader::name_or_number(const field& f, std::string_view what) {
    if (const auto* s = f.node.as_string()) return s->get();
    if (const auto* i = f.node.as_integer(); i && i->get() >= 0 && i->get() < 0xFFFFFFFF) return std::to_string(i->get());
    wrong_type(f, std::string(what) + " name or number");
    return std::nullopt;
}

void reader::run_as(const toml::table& t, const std::string& path, program_config& program) {
    const auto user = at(t, "user", path), group = at(t, "group", path);
    std::optional<resolved_user> resolved;
    if (user)
        if (auto written = name_or_number(*user, "a user")) {
            const user_lookup& found = lookups_.user(*written);
            if (!found.user) report(user->node.source(), user->path, found.error);
            else resolved = found.user;
        }
    if (group)
        if (auto written = name_or_number(*group, "a group")) {
            const group_lookup& found = lookups_.group(*written);
            if (!found.gid) report(group->node.source(), group->path, found.error);
            else program.group = found.gid;
        }
    if ((user && !resolved) || (group && !program.group)) return;  // reported
    if (resolved) {
        if (!resolved->primary_group && !group)
            report(user->node.source(), user->path,
                   "uid " + std::to_string(resolved->uid) + " has no entry in the user database, so no primary group: set group");
        program.user = resolved->uid;
    }
    if (program.user || program.group)
        if (auto why = why_not_run_as(program.user.value_or(::geteuid()), program.group)) {
            report((user ? user : group)->node.source(), (user ? user : group)->path, *why);
            return;
        }
    // Only root changes its groups; a user running brood runs its programs in its own.
    if (resolved && ::geteuid() == 0) {
        if (!program.group) program.group = resolved->primary_group;
        program.groups = resolved->groups;
    }
    if (auto f = at(t, "umask", path)) {
        constexpr std::string_view expected = "an octal mode from \"000\" to \"777\", such as \"027\"";
        std::optional<unsigned> mask;
        if (const auto* s = f->node.as_string()) {
            unsigned value = 0;
            const std::string& text = s->get();
            const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, 8);
            if (error == std::errc() && end == text.data() + text.size() && !text.empty()) mask = value;
        } else if (const auto* i = f->node.as_integer()) {
            if (i->get() >= 0) mask = static_cast<unsigned>(std::min<std::int64_t>(i->get(), 01000));  // 0o027 in TOML
        } else {
            wrong_type(*f, expected);
            return;
        }
        if (mask && *mask <= 0777) program.umask = static_cast<mode_t>(*mask);
        else wrong_value(*f, expected);
    }
}

// memory_max = "256M", pids_max = 100, cpu_weight = 50, cpu_max = "150%": each refused when its
// controller cannot be had in the instances' cgroups, rather than left unapplied.
void reader::cgroup_limits(const toml::table& t, const std::string& path, program_config& program) {
    struct key {
        std::string_view name;
        std::string_view file;
    };
    constexpr std::array<key, 5> keys{{{"memory_max", "memory.max"},
                                       {"memory_high", "memory.high"},
                                       {"pids_max", "pids.max"},
                                       {"cpu_weight", "cpu.weight"},
                                       {"cpu_max", "cpu.max"}}};
    std::optional<std::optional<std::filesystem::path>> base;  // read once, when a limit is given
    for (const key& k : keys) {
        const auto f = at(t, k.name, path);
        if (!f) continue;
        std::optional<std::string> value;
        const auto* text = f->node.as_string();
        if (text && text->get() == "max" && k.name != "cpu_weight") {
            value = k.name == "cpu_max" ? cpu_max_value("max") : "max";
        } else if (k.name == "memory_max" || k.name == "memory_high") {
            if (auto bytes = byte_size(*f)) value = std::to_string(*bytes);
        } else if (k.name == "pids_max") {
            if (auto n = integer(*f, 1, 4194304)) value = std::to_string(*n);
        } else if (k.name == "cpu_weight") {
            if (auto n = integer(*f, 1, 10000)) value = std::to_string(*n);
        } else if (!text) {
            wrong_type(*f, "a share of one CPU such as \"50%\" or \"200%\", or \"max\"");
        } else if (!(value = cpu_max_value(text->get()))) {
            wrong_value(*f, "a share of one CPU such as \"50%\" or \"200%\", or \"max\"");
        }
        if (!value) continue;
        if (!base) base = current_cgroup();
        if (auto why = why_no_controller(controller_of(k.file), *base)) {
            report(f->node.source(), f->path, *why);
            continue;
        }
        program.cgroup_limits.push_back({std::string(k.file), *value});
    }
}

// A number, "infinity", or for sizes a size ("512M").
std::optional<rlim_t> reader::limit_value(const field& f, bool size) {
    if (const auto* s = f.node.as_string(); s && s->get() == "infinity") return RLIM_INFINITY;
    if (size) {
        const std::optional<std::uint64_t> bytes = f.node.is_string() || f.node.is_integer() ? byte_size(f) : std::nullopt;
        if (!f.node.is_string() && !f.node.is_integer()) wrong_type(f, "a size such as \"64M\", a number of bytes, or \"infinity\"");
        return bytes;
    }
    if (auto v = f.node.as_integer(); v && v->get() >= 0) return static_cast<rlim_t>(v->get());
    wrong_value(f, "a number or \"infinity\"");
    return std::nullopt;
}

// limits = { nofile = 65536, core = { soft = 0, hard = "infinity" } }
void reader::limits(const field& f, program_config& program) {
    const toml::table* t = table(f);
    if (!t) return;
    for (auto&& [key, value] : *t) {
        const std::string path = join(f.path, key.str());
        const limit_key* which = find_limit_key(key.str());
        if (!which) {
            report(key.source(), path, "unknown limit (the limits are " + limit_key_names() + ")");
            continue;
        }
        std::optional<rlim_t> soft, hard;
        if (const toml::table* pair = value.as_table()) {
            constexpr std::array pair_keys{"soft"sv, "hard"sv};
            check_keys(*pair, path, pair_keys);
            const auto s = at(*pair, "soft", path), h = at(*pair, "hard", path);
            if (!s || !h) {
                report(value.source(), path, "give both soft and hard, or one value for both");
                continue;
            }
            soft = limit_value(*s, which->size);
            hard = limit_value(*h, which->size);
        } else {
            soft = hard = limit_value({value, path}, which->size);
        }
        if (!soft || !hard) continue;
        const resource_limit limit{which->resource, *soft, *hard};
        if (auto why = why_not_limit(limit)) report(value.source(), path, *why);
        else program.limits.push_back(limit);
    }
}

// One file or a list of them, read in order: a later file's value wins.
void reader::env_files(const field& f, program_config& program) {
    std::vector<const toml::node*> names;
    if (const auto* list = f.node.as_array()) {
        for (const toml::node& entry : *list) names.push_back(&entry);
    } else {
        names.push_back(&f.node);
    }
    const std::filesystem::path base = std::filesystem::path(file_).parent_path();
    for (const toml::node* name : names) {
        const std::optional<std::string> written =
            name->is_string() ? string({*name, f.path}) : (wrong_type({*name, f.path}, "a file name or an array of them"), std::nullopt);
        if (!written) continue;
        const std::filesystem::path file = (base / *written).lexically_normal();
        env_file_content content = read_env_file(file, file.string());
        problems_.insert(problems_.end(), content.problems.begin(), content.problems.end());
        for (auto& [key, value] : content.variables) program.environment[key] = std::move(value);
    }
}

void reader::depends_on(const field& f, program_config& program) {
    // { db = "ready", migrate = "completed_successfully" }: a condition for each.
    if (const toml::table* conditions = f.node.as_table()) {
        for (auto&& [key, value] : *conditions) {
            const std::string name(key.str());
            if (auto v = choice({value, join(f.path, name)}, condition_names))
                program.depends_on.push_back({name, at(key.source()), static_cast<dependency_condition>(*v)});
        }
        return;
    }
    const auto* names = f.node.as_array();
    if (!names) {
        wrong_type(f, "an array of program names, or a table of conditions");
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

void reader::success_exit_codes(const field& f, program_config& program) {
    const auto* codes = f.node.as_array();
    if (!codes) {
        wrong_type(f, "an array of exit codes");
        return;
    }
    if (codes->empty()) {
        report(f.node.source(), f.path, "expected at least one exit code, found an empty array");
        return;
    }
    program.success_exit_codes.clear();
    for (const toml::node& code : *codes)
        if (auto v = integer({code, f.path}, 0, 255)) program.success_exit_codes.push_back(static_cast<int>(*v));
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

// [http]: a token file relative to the configuration's directory; an address beyond loopback only
// with a token file, since brood's own token is written where only its user may read it.
void reader::http(const field& f, const std::filesystem::path& directory, http_config& http) {
    const toml::table* t = table(f);
    if (t == nullptr) return;
    check_keys(*t, f.path, http_keys);
    if (auto token = at(*t, "token_file", f.path))
        if (auto v = string(*token)) {
            if (v->empty()) wrong_value(*token, "a file name");
            else http.token_file = directory / *v;
        }
    if (auto listen = at(*t, "listen", f.path))
        if (auto v = string(*listen)) {
            http.listen = parse_listen_address(*v);
            if (!http.listen) {
                wrong_value(*listen, "ADDRESS:PORT with a literal IPv4 or [IPv6] address, such as \"127.0.0.1:9180\"");
            } else if (!http.listen->loopback && !http.token_file) {
                report(listen->node.source(), listen->path,
                       "\"" + *v + "\" is reachable from other machines: set http.token_file to the file that holds "
                       "the API's bearer token");
                http.listen.reset();
            }
        }
}

program_config reader::program(const toml::key& name, const toml::table& t) {
    const std::string path = join("programs", name.str());
    program_config program;
    program.name = name.str();
    program.where = at(t.source());
    if (!valid_program_name(name.str())) report(name.source(), path, std::string(program_name_rule));
    check_keys(t, path, program_keys);

    if (auto f = at(t, "env_file", path)) env_files(*f, program);
    if (auto f = at(t, "environment", path)) environment(*f, program);
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
        if (auto v = string(*f))
            if (auto expanded = expand(*f, *v, program)) program.directory = *expanded;
    if (auto f = at(t, "autostart", path))
        if (auto v = boolean(*f)) program.autostart = *v;
    if (auto f = at(t, "restart", path))
        if (auto v = choice(*f, restart_names)) program.restart = static_cast<restart_policy>(*v);
    if (auto f = at(t, "success_exit_codes", path)) success_exit_codes(*f, program);
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
    if (auto f = at(t, "watchdog", path))
        if (auto v = duration(*f)) {
            if (v->count() > 0) program.watchdog = *v;
            else wrong_value(*f, "a duration above zero");
        }
    if (auto f = at(t, "watchdog_signal", path))
        if (auto v = stop_signal(*f)) program.watchdog_signal = *v;
    if (auto f = at(t, "health", path)) health(*f, program);
    if (auto f = at(t, "log", path)) log(*f, program.log);
    if (auto f = at(t, "essential", path))
        if (auto v = boolean(*f)) program.essential = *v;
    if (auto f = at(t, "tty", path))
        if (auto v = boolean(*f)) program.tty = *v;
    run_as(t, path, program);
    if (auto f = at(t, "limits", path)) limits(*f, program);
    cgroup_limits(t, path, program);
    return program;
}

}  // namespace

loaded_config parse_toml_config(std::string_view text, const std::string& file_name,
                                const std::map<std::string, std::string>& brood_environment) {
    reader read(file_name, brood_environment);
    toml::table root;
    try {
        root = toml::parse(text, std::string_view(file_name));
    } catch (const toml::parse_error& e) {
        return {{}, {{read.at(e.source()), std::string(e.description())}}, std::nullopt, false, {}};
    }

    loaded_config result;
    read.check_keys(root, "", top_keys);
    if (auto f = read.at(root, "shutdown_timeout", ""))
        if (auto v = read.duration(*f)) result.shutdown_timeout = *v;
    if (auto f = read.at(root, "exit_when", ""))
        if (read.choice(*f, exit_when_names)) result.exit_when_all_completed = true;
    if (auto f = read.at(root, "http", ""))
        read.http(*f, std::filesystem::path(file_name).parent_path(), result.http);
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
        result.problems.push_back(about_file(file_name, "no programs: add a [programs.NAME] table with a command"));
    const std::vector<problem> dependency_problems = check_dependencies(result.programs);
    result.problems.insert(result.problems.end(), dependency_problems.begin(), dependency_problems.end());
    sort_by_position(result.problems);
    return result;
}

}  // namespace brood::supervisor
