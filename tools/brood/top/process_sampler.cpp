#include "top/process_sampler.hpp"

#include <unistd.h>

#include <brood/proc.hpp>

namespace brood::cli {

void process_sampler::sample(std::vector<instance_row>& rows, std::chrono::steady_clock::time_point now) {
    static const double ticks_per_second = static_cast<double>(::sysconf(_SC_CLK_TCK));
    std::map<pid_t, reading> readings;
    for (instance_row& r : rows) {
        if (r.pid == 0) continue;
        const std::optional<proc::process_info> info = proc::read_process(r.pid);
        if (!info || info->state == 'Z') {
            r.cpu_percent.reset();
            r.rss_bytes.reset();
            continue;
        }
        const reading now_reading{info->start_time, info->cpu_ticks, now};
        r.rss_bytes = info->rss_bytes;
        const auto before = last_.find(r.pid);
        if (before != last_.end() && before->second.start_time == info->start_time && now > before->second.at) {
            const double seconds = std::chrono::duration<double>(now - before->second.at).count();
            const double spent = static_cast<double>(info->cpu_ticks - before->second.cpu_ticks) / ticks_per_second;
            r.cpu_percent = 100.0 * spent / seconds;
        }
        readings.emplace(r.pid, now_reading);
    }
    last_ = std::move(readings);
}

}  // namespace brood::cli
