#include "supervisor/status_report.hpp"

#include <brood/proc.hpp>

#include "common/timestamp.hpp"

namespace brood::supervisor {

nlohmann::json instance_status(const instance& which) {
    nlohmann::json status{
        {"program", which.program().name},
        {"instance", which.index()},
        {"name", which.name()},
        {"state", to_string(which.current())},
        {"pid", nullptr},
        {"since", cli::timestamp(which.since())},
        {"uptime_ms", nullptr},
        {"restarts", which.restarts()},
        {"last_exit", nullptr},
        {"last_exit_code", nullptr},
        {"start_error", nullptr},
        {"rss_bytes", nullptr},
        {"log", which.log_path().string()},
        {"log_lost_bytes", which.log() ? which.log()->lost_bytes() : 0},
        {"log_error", nullptr},
        {"waiting", nullptr},
        {"notified", nullptr},
        {"health", nullptr},
        {"health_failure", nullptr},
        {"health_failures", which.health_failures()},
    };
    if (which.log() && which.log()->failing()) status["log_error"] = which.log()->failing()->error;
    if (which.pid() != 0) {
        status["pid"] = which.pid();
        if (const auto process = proc::read_process(which.pid())) status["rss_bytes"] = process->rss_bytes;
    }
    if (const auto uptime = which.uptime()) status["uptime_ms"] = uptime->count();
    if (which.last_end()) {
        status["last_exit"] = which.last_exit();
        status["last_exit_code"] = which.last_end()->shell_code();
    }
    if (!which.start_error().empty()) status["start_error"] = which.start_error();
    if (!which.notified().empty()) status["notified"] = which.notified();
    if (which.health() != health_status::none) status["health"] = to_string(which.health());
    if (!which.health_failure().empty()) status["health_failure"] = which.health_failure();
    return status;
}

}  // namespace brood::supervisor
