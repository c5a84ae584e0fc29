#include "supervisor/status_report.hpp"

#include <unistd.h>

#include <brood/proc.hpp>

#include "common/timestamp.hpp"
#include "supervisor/cgroup_usage.hpp"

namespace brood::supervisor {
namespace {

double seconds(std::chrono::microseconds time) { return static_cast<double>(time.count()) / 1e6; }

}  // namespace

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
        {"memory_bytes", nullptr},
        {"cpu_seconds", nullptr},
        {"log", which.log_path().string()},
        {"log_lost_bytes", which.log() ? which.log()->lost_bytes() : 0},
        {"log_error", nullptr},
        {"waiting", nullptr},
        {"notified", nullptr},
    };
    if (which.log() && which.log()->failing()) status["log_error"] = which.log()->failing()->error;
    if (which.pid() != 0) {
        status["pid"] = which.pid();
        if (const auto process = proc::read_stat(which.pid())) {
            status["rss_bytes"] = process->rss_bytes;
            status["memory_bytes"] = process->rss_bytes;
            status["cpu_seconds"] = static_cast<double>(process->cpu_ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
        }
    }
    // The cgroup counts every process of the instance, and what they used before they ended.
    if (which.group()) {
        const cgroup_usage usage = read_cgroup_usage(*which.group());
        if (usage.memory_bytes) status["memory_bytes"] = *usage.memory_bytes;
        if (usage.cpu_time) status["cpu_seconds"] = seconds(*usage.cpu_time);
    }
    if (const auto uptime = which.uptime()) status["uptime_ms"] = uptime->count();
    if (which.last_end()) {
        status["last_exit"] = which.last_exit();
        status["last_exit_code"] = which.last_end()->shell_code();
    }
    if (!which.start_error().empty()) status["start_error"] = which.start_error();
    if (!which.notified().empty()) status["notified"] = which.notified();
    return status;
}

}  // namespace brood::supervisor
