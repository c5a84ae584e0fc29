#include "control/readiness.hpp"

namespace brood::control {

namespace {

bool where_it_should_be(const nlohmann::json& instance) {
    if (instance.value("waiting", nlohmann::json()).is_string()) return false;  // asked to start, not started
    const std::string state = instance.value("state", "");
    // Where a health check runs, ready is not enough: its last check must have passed.
    const nlohmann::json health = instance.value("health", nlohmann::json());
    if (state == "ready" && health.is_string() && health != "healthy") return false;
    return state == "ready" || state == "stopped" || state == "completed";
}

std::string describe(const nlohmann::json& instance) {
    std::string text = instance.value("name", "?") + " " + instance.value("state", "?");
    const nlohmann::json health = instance.value("health", nlohmann::json());
    const nlohmann::json health_failure = instance.value("health_failure", nlohmann::json());
    if (health.is_string() && health != "healthy") {
        text += ", " + health.get<std::string>();
        if (health == "unhealthy" && health_failure.is_string()) text += " (" + health_failure.get<std::string>() + ")";
    }
    const nlohmann::json last_exit = instance.value("last_exit", nlohmann::json());
    const nlohmann::json start_error = instance.value("start_error", nlohmann::json());
    const nlohmann::json waiting = instance.value("waiting", nlohmann::json());
    if (waiting.is_string()) text += " (" + waiting.get<std::string>() + ")";
    else if (start_error.is_string()) text += " (" + start_error.get<std::string>() + ")";
    else if (last_exit.is_string() && instance.value("state", "") != "ready") text += " (" + last_exit.get<std::string>() + ")";
    return text;
}

}  // namespace

std::optional<std::string> not_ready(const nlohmann::json& status) {
    std::string line;
    for (const nlohmann::json& instance : status.value("instances", nlohmann::json::array()))
        if (!where_it_should_be(instance)) line += (line.empty() ? "not ready: " : ", ") + describe(instance);
    if (line.empty()) return std::nullopt;
    return line;
}

}  // namespace brood::control
