#include "http/metrics.hpp"

#include <fmt/format.h>

#include "supervisor/state_machine.hpp"

namespace brood::http {
namespace {

using nlohmann::json;

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

std::string labels_of(const json& instance) {
    return fmt::format("program=\"{}\",instance=\"{}\",name=\"{}\"", escaped(instance.value("program", "")),
                       instance.value("instance", 0u), escaped(instance.value("name", "")));
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// One sample per instance that has a value for key; divisor turns status's unit into the metric's.
void per_instance(std::string& out, const json& instances, const std::vector<std::string>& labels,
                  std::string_view name, std::string_view type, std::string_view help, const char* key,
                  double divisor = 1) {
    header(out, name, type, help);
    for (std::size_t i = 0; i < instances.size(); ++i) {
        const auto value = instances[i].find(key);
        if (value == instances[i].end() || !value->is_number()) continue;
        fmt::format_to(std::back_inserter(out), "{}{{{}}} {}\n", name, labels[i], value->get<double>() / divisor);
    }
}

}  // namespace

std::string prometheus_text(const json& status, const server_counters& counters) {
    const json& instances = status.at("instances");
    std::vector<std::string> labels;
    labels.reserve(instances.size());
    for (const json& one : instances) labels.push_back(labels_of(one));

    std::string out;
    out.reserve(instances.size() * 1024 + 2048);
    header(out, "brood_instance_state", "gauge", "1 for the state the instance is in, 0 for the others.");
    for (std::size_t i = 0; i < instances.size(); ++i) {
        const std::string current = instances[i].value("state", "");
        for (std::size_t s = 0; s < supervisor::state_count; ++s) {
            const std::string_view state = supervisor::to_string(static_cast<supervisor::state>(s));
            fmt::format_to(std::back_inserter(out), "brood_instance_state{{{},state=\"{}\"}} {}\n", labels[i], state,
                           state == current ? 1 : 0);
        }
    }
    per_instance(out, instances, labels, "brood_instance_restarts_total", "counter",
                 "Restarts of the instance since brood started it.", "restarts");
    per_instance(out, instances, labels, "brood_instance_uptime_seconds", "gauge",
                 "Time since the instance's process started; no sample while none runs.", "uptime_ms", 1000);
    per_instance(out, instances, labels, "brood_instance_cpu_seconds_total", "counter",
                 "CPU time of the instance's cgroup, else of its process.", "cpu_seconds");
    per_instance(out, instances, labels, "brood_instance_memory_bytes", "gauge",
                 "Memory of the instance's cgroup (memory.current), else its process's resident set.", "memory_bytes");
    per_instance(out, instances, labels, "brood_instance_last_exit_code", "gauge",
                 "The last end's exit code as a shell shows it (128+N for signal N).", "last_exit_code");

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
