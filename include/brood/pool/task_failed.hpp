// task_failed: why a pool task produced no result. Thrown by task<R>::get() and pool::map.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>

#include <sys/types.h>

#include <brood/status.hpp>

namespace brood {

class task_failed : public std::runtime_error {
public:
    enum class reason {
        threw,         // the task function threw; the worker lives on. message() has what()
        worker_died,   // the worker ended while running the task (killed, aborted, exit()); see status()
        start_failed,  // workers kept dying before their init finished; the pool gave up
        bad_data,      // a codec threw while the parent encoded the task or decoded the result
        pool_stopped,  // the pool was terminated or destroyed before the task finished
    };

    task_failed(reason why, std::string message, std::optional<std::size_t> index = std::nullopt,
                std::optional<std::size_t> worker = std::nullopt, pid_t pid = 0,
                std::optional<wait_status> status = std::nullopt);

    reason why() const noexcept { return why_; }
    // The exception's what() (threw), or the detail of the failure.
    const std::string& message() const noexcept { return message_; }
    // For pool::map: the position of the failed task in the input range.
    std::optional<std::size_t> index() const noexcept { return index_; }
    // The worker's slot (0..workers-1; a replacement takes the slot of the worker it replaces).
    std::optional<std::size_t> worker() const noexcept { return worker_; }
    pid_t pid() const noexcept { return pid_; }
    // How the worker ended (worker_died, start_failed).
    const std::optional<wait_status>& status() const noexcept { return status_; }

private:
    reason why_;
    std::string message_;
    std::optional<std::size_t> index_;
    std::optional<std::size_t> worker_;
    pid_t pid_;
    std::optional<wait_status> status_;
};

}  // namespace brood
