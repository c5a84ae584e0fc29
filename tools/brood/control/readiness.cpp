#include "control/readiness.hpp"

namespace brood::control {

namespace {

bool where_it_should_be(const nlohmann::json& instance) {
    const std::string state = instance.value("state", "");
    if (state == "ready" || state == "stopped") return true;
    return state == "exited" && instance.value("last_exit_code", nlohmann::json()) == 0;
}

std::string describe(const nlohmann::json& instance) {
    std::string text = instance.value("name", "?") + " " + instance.value("state", "?");
    const nlohmann::json last_exit = instance.value("last_exit", nlohmann::json());
    const nlohmann::json start_error = instance.value("start_error", nlohmann::json());
    if (start_error.is_string()) text += " (" + start_error.get<std::string>() + ")";
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
