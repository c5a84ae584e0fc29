#include <brood/pool/task_failed.hpp>

namespace brood {
namespace {

std::string where(std::optional<std::size_t> worker, pid_t pid) {
    if (!worker) return "a worker";
    return "worker " + std::to_string(*worker) + " (pid " + std::to_string(pid) + ")";
}

std::string describe(task_failed::reason why, const std::string& message, std::optional<std::size_t> index,
                     std::optional<std::size_t> worker, pid_t pid, const std::optional<wait_status>& status) {
    const std::string task = index ? "task " + std::to_string(*index) : "the task";
    const std::string ended = status ? status->to_string() : "gone";
    switch (why) {
        case task_failed::reason::threw:
            return "brood::pool: " + task + " threw in " + where(worker, pid) + ": " + message;
        case task_failed::reason::worker_died:
            return "brood::pool: " + where(worker, pid) + " " + ended + " while running " + task +
                   (message.empty() ? "" : " (" + message + ")");
        case task_failed::reason::start_failed:
            return "brood::pool: workers keep dying before their init finishes; " + where(worker, pid) + " " + ended +
                   (message.empty() ? "" : ": " + message);
        case task_failed::reason::bad_data:
            return "brood::pool: " + task + ": " + message;
        case task_failed::reason::pool_stopped:
            return "brood::pool: the pool was stopped before " + task + " finished";
    }
    return "brood::pool: " + message;
}

}  // namespace

task_failed::task_failed(reason why, std::string message, std::optional<std::size_t> index,
                         std::optional<std::size_t> worker, pid_t pid, std::optional<wait_status> status)
    : std::runtime_error(describe(why, message, index, worker, pid, status)),
      why_(why),
      message_(std::move(message)),
      index_(index),
      worker_(worker),
      pid_(pid),
      status_(status) {}

}  // namespace brood
