#include "http/metrics.hpp"

#include <array>
#include <charconv>

#include <fmt/format.h>

#include "supervisor/state_machine.hpp"

namespace brood::http {
namespace {

// Label values escaped as the text format wants: backslash, double quote and newline.
std::string escaped(std::string_view value) {
    std::string text;
    for (char c : value) {
        if (c == '\\') text += "\\\\";
        else if (c == '"') text += "\\\"";
        else if (c == '\n') text += "\\n";
        else text += c;
    }
    return text;
}

std::string labels_of(const supervisor::instance_figures& instance) {
    return fmt::format("program=\"{}\",instance=\"{}\",name=\"{}\"", escaped(instance.program), instance.index,
                       escaped(instance.name));
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// The shortest text that reads back as value, as fmt writes it. The samples of 500 instances are
// thousands of lines: they are appended piece by piece, with no format string to parse for each.
template <typename number>
void append_number(std::string& out, number value) {
    char text[32];
    const auto [end, error] = std::to_chars(text, text + sizeof text, value);
    out.append(text, end);
}

// One sample per instance for which value gives one.
template <typename value_of>
void per_instance(std::string& out, const std::vector<supervisor::instance_figures>& instances,
                  const std::vector<std::string>& labels, std::string_view name, std::string_view type,
                  std::string_view help, value_of value) {
    header(out, name, type, help);
    for (std::size_t i = 0; i < instances.size(); ++i) {
        const auto sample = value(instances[i]);
        if (!sample) continue;
        out.append(name).append(1, '{').append(labels[i]).append("} ");
        append_number(out, *sample);
        out.append(1, '\n');
    }
}

}  // namespace

std::string prometheus_text(const std::vector<supervisor::instance_figures>& instances,
                            const server_counters& counters) {
    std::vector<std::string> labels;
    labels.reserve(instances.size());
    for (const auto& one : instances) labels.push_back(labels_of(one));

    std::string out;
    out.reserve(instances.size() * 1200 + 2048);
    header(out, "brood_instance_state", "gauge", "1 for the state the instance is in, 0 for the others.");
    // What follows an instance's labels in each state's sample: ,state="running"} and a space.
    std::array<std::string, supervisor::state_count> state_labels;
    for (std::size_t s = 0; s < supervisor::state_count; ++s)
        state_labels[s] = fmt::format(",state=\"{}\"}} ", supervisor::to_string(static_cast<supervisor::state>(s)));
    for (std::size_t i = 0; i < instances.size(); ++i) {
        for (std::size_t s = 0; s < supervisor::state_count; ++s) {
            const bool current = static_cast<supervisor::state>(s) == instances[i].current;
            out.append("brood_instance_state{").append(labels[i]).append(state_labels[s]);
            out.append(current ? "1\n" : "0\n");
        }
    }
    using figures = supervisor::instance_figures;
    per_instance(out, instances, labels, "brood_instance_restarts_total", "counter",
                 "Restarts of the instance since brood started it.",
                 [](const figures& f) { return std::optional<unsigned>(f.restarts); });
    per_instance(out, instances, labels, "brood_instance_uptime_seconds", "gauge",
                 "Time since the instance's process started; no sample while none runs.", [](const figures& f) {
                     return f.uptime ? std::optional<double>(static_cast<double>(f.uptime->count()) / 1000)
                                     : std::nullopt;
                 });
    per_instance(out, instances, labels, "brood_instance_cpu_seconds_total", "counter",
                 "CPU time of the instance's cgroup, else of its process.",
                 [](const figures& f) { return f.cpu_seconds; });
    per_instance(out, instances, labels, "brood_instance_memory_bytes", "gauge",
                 "Memory of the instance's cgroup (memory.current), else its process's resident set.",
                 [](const figures& f) { return f.memory_bytes; });
    per_instance(out, instances, labels, "brood_instance_health_check_failures_total", "counter",
                 "Health checks that failed, in every run; no sample for an instance without a check.",
                 [](const figures& f) { return f.health_checks_failed; });
    per_instance(out, instances, labels, "brood_instance_last_exit_code", "gauge",
                 "The last end's exit code as a shell shows it (128+N for signal N).",
                 [](const figures& f) { return f.last_exit_code; });

    header(out, "brood_memory_bytes", "gauge", "brood's own resident memory.");
    fmt::format_to(std::back_inserter(out), "brood_memory_bytes {}\n", counters.memory_bytes);
    header(out, "brood_events_total", "counter", "Events published (state changes, log failures).");
    fmt::format_to(std::back_inserter(out), "brood_events_total {}\n", counters.events);
    header(out, "brood_http_requests_total", "counter", "HTTP requests answered, by status code.");
    for (const auto& [code, count] : counters.requests)
        fmt::format_to(std::back_inserter(out), "brood_http_requests_total{{code=\"{}\"}} {}\n", code, count);
    header(out, "brood_http_event_clients", "gauge", "Clients following /api/v1/events.");
    fmt::format_to(std::back_inserter(out), "brood_http_event_clients {}\n", counters.event_clients);
    header(out, "brood_http_event_clients_dropped_total", "counter",
           "Clients of /api/v1/events dropped for not reading their events.");
    fmt::format_to(std::back_inserter(out), "brood_http_event_clients_dropped_total {}\n", counters.event_clients_dropped);
    header(out, "brood_http_connections_refused_total", "counter", "Connections refused: too many were open.");
    fmt::format_to(std::back_inserter(out), "brood_http_connections_refused_total {}\n", counters.connections_refused);
    return out;
}

}  // namespace brood::http
