#include "top/instance_rows.hpp"

#include <algorithm>

namespace brood::cli {
namespace {

std::string string_of(const nlohmann::json& object, const char* key) {
    const auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

pid_t pid_of(const nlohmann::json& object) {
    const auto it = object.find("pid");
    return it != object.end() && it->is_number_integer() ? it->get<pid_t>() : 0;
}

instance_row row_of(const nlohmann::json& instance, std::chrono::steady_clock::time_point now) {
    instance_row r;
    r.name = string_of(instance, "name");
    r.state = string_of(instance, "state");
    r.pid = pid_of(instance);
    if (const auto uptime = instance.find("uptime_ms"); uptime != instance.end() && uptime->is_number_unsigned())
        r.spawned = now - std::chrono::milliseconds(uptime->get<std::uint64_t>());
    r.restarts = instance.value("restarts", std::uint64_t{0});
    r.last_exit = string_of(instance, "last_exit");
    r.health = string_of(instance, "health");
    return r;
}

}  // namespace

instance_rows::instance_rows(const nlohmann::json& status, std::chrono::steady_clock::time_point now) {
    replace(status, now);
}

void instance_rows::replace(const nlohmann::json& status, std::chrono::steady_clock::time_point now) {
    std::vector<instance_row> rows;
    for (const nlohmann::json& instance : status.value("instances", nlohmann::json::array())) {
        instance_row r = row_of(instance, now);
        const auto before = std::find_if(rows_.begin(), rows_.end(), [&](const instance_row& old) {
            return old.name == r.name && old.pid == r.pid && r.pid != 0;
        });
        if (before != rows_.end()) {
            r.cpu_percent = before->cpu_percent;
            r.rss_bytes = before->rss_bytes;
        }
        rows.push_back(std::move(r));
    }
    rows_ = std::move(rows);
    needs_snapshot_ = false;
}

void instance_rows::apply(const nlohmann::json& event, std::chrono::steady_clock::time_point now) {
    const bool state_change = event.contains("to");
    const bool health_change = event.contains("health_from");
    if (!state_change && !health_change) return;  // a log event
    const std::string name = string_of(event, "name");
    auto r = std::find_if(rows_.begin(), rows_.end(), [&](const instance_row& row) { return row.name == name; });
    if (r == rows_.end()) {
        rows_.emplace_back().name = name;
        r = rows_.end() - 1;
        needs_snapshot_ = true;
    }
    if (health_change) {
        const std::string health = string_of(event, "health");
        r->health = health == "none" ? std::string() : health;
        return;
    }
    r->state = string_of(event, "to");
    const pid_t pid = pid_of(event);
    if (pid != r->pid) {  // a new process, or none: what was sampled was another's
        r->spawned = pid != 0 ? std::optional(now) : std::nullopt;
        r->cpu_percent.reset();
        r->rss_bytes.reset();
    }
    r->pid = pid;
    r->restarts = event.value("restarts", r->restarts);
    r->last_exit = string_of(event, "last_exit");
    if (r->state == "stopped") needs_snapshot_ = true;
}

std::vector<const instance_row*> instance_rows::matching(const std::string& text) const {
    std::vector<const instance_row*> shown;
    for (const instance_row& r : rows_)
        if (text.empty() || r.name.find(text) != std::string::npos || r.state.find(text) != std::string::npos)
            shown.push_back(&r);
    return shown;
}

}  // namespace brood::cli
