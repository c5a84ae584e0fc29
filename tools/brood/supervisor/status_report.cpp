#include "supervisor/status_report.hpp"

#include "common/timestamp.hpp"

namespace brood::supervisor {
namespace {

double seconds(std::chrono::microseconds time) { return static_cast<double>(time.count()) / 1e6; }

}  // namespace

instance_figures figures_of(const instance& which) {
    instance_figures figures{which.program().name, which.index(), which.name(), which.current(), which.pid(),
                             which.restarts(), which.uptime(), std::nullopt, std::nullopt, std::nullopt,
                             std::nullopt, std::nullopt};
    if (which.program().health) figures.health_checks_failed = which.health_checks_failed();
    if (which.last_end()) figures.last_exit_code = which.last_end()->shell_code();
    const instance_usage::reading now = which.usage().read();
    figures.rss_bytes = now.rss_bytes;
    // The cgroup counts every process of the instance, and what they used before they ended.
    figures.memory_bytes = now.group.memory_bytes ? now.group.memory_bytes : now.rss_bytes;
    const auto cpu = now.group.cpu_time ? now.group.cpu_time : now.process_cpu;
    if (cpu) figures.cpu_seconds = seconds(*cpu);
    return figures;
}

nlohmann::json instance_status(const instance& which) {
    const instance_figures figures = figures_of(which);
    const auto or_null = [](const auto& value) { return value ? nlohmann::json(*value) : nlohmann::json(nullptr); };
    nlohmann::json status{
        {"program", figures.program},
        {"instance", figures.index},
        {"name", figures.name},
        {"state", to_string(figures.current)},
        {"pid", figures.pid != 0 ? nlohmann::json(figures.pid) : nlohmann::json(nullptr)},
        {"since", cli::timestamp(which.since())},
        {"uptime_ms", figures.uptime ? nlohmann::json(figures.uptime->count()) : nlohmann::json(nullptr)},
        {"restarts", figures.restarts},
        {"last_exit", which.last_end() ? nlohmann::json(which.last_exit()) : nlohmann::json(nullptr)},
        {"last_exit_code", or_null(figures.last_exit_code)},
        {"start_error", which.start_error().empty() ? nlohmann::json(nullptr) : nlohmann::json(which.start_error())},
        {"rss_bytes", or_null(figures.rss_bytes)},
        {"memory_bytes", or_null(figures.memory_bytes)},
        {"cpu_seconds", or_null(figures.cpu_seconds)},
        {"log", which.log_path().string()},
        {"log_lost_bytes", which.log() ? which.log()->lost_bytes() : 0},
        {"log_error", which.log() && which.log()->failing() ? nlohmann::json(which.log()->failing()->error)
                                                             : nlohmann::json(nullptr)},
        {"waiting", nullptr},
        {"notified", which.notified().empty() ? nlohmann::json(nullptr) : nlohmann::json(which.notified())},
        {"health", which.health() != health_status::none ? nlohmann::json(to_string(which.health()))
                                                         : nlohmann::json(nullptr)},
        {"health_failure",
         which.health_failure().empty() ? nlohmann::json(nullptr) : nlohmann::json(which.health_failure())},
        {"health_failures", which.health_failures()},
        {"health_checks_failed", or_null(figures.health_checks_failed)},
    };
    return status;
}

}  // namespace brood::supervisor
