// What brood top shows: a row per instance, from a status snapshot and then the supervisor's
// state-change events (docs/protocol.md), plus the CPU and memory top samples itself.
//
//   instance_rows rows(client.call("status"));
//   rows.apply(event);                 // each event after the snapshot, in order
//   if (rows.needs_snapshot()) ...     // a reload or scale may have added or removed instances
//   for (const row& r : rows.matching("web")) ...
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include <nlohmann/json.hpp>

namespace brood::cli {

struct instance_row {
    std::string name;
    std::string state;
    pid_t pid = 0;  // 0: no process
    std::optional<std::chrono::steady_clock::time_point> spawned;  // when its process started
    std::uint64_t restarts = 0;
    std::string last_exit;  // empty: no run has ended
    std::string health;     // starting, healthy or unhealthy; empty: no health check, or no process
    // Sampled from /proc once a second; nullopt until two samples of the same process exist (CPU)
    // or one (RSS).
    std::optional<double> cpu_percent;
    std::optional<std::uint64_t> rss_bytes;
};

class instance_rows {
public:
    explicit instance_rows(const nlohmann::json& status,
                           std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

    // A state-change or health event; log events are ignored. An instance not in the snapshot is added, and
    // asks for a new snapshot.
    void apply(const nlohmann::json& event, std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
    // A new snapshot (status result) in place of the rows; the samples of processes still there are kept.
    void replace(const nlohmann::json& status, std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

    // An event named an instance the snapshot did not have, or an instance stopped: a reload or a
    // scale may have added or removed some, which events do not say.
    bool needs_snapshot() const { return needs_snapshot_; }

    // Rows whose name or state contains text (all when it is empty), in the supervisor's order.
    std::vector<const instance_row*> matching(const std::string& text) const;
    std::vector<instance_row>& all() { return rows_; }
    const std::vector<instance_row>& all() const { return rows_; }

private:
    std::vector<instance_row> rows_;
    bool needs_snapshot_ = false;
};

}  // namespace brood::cli
