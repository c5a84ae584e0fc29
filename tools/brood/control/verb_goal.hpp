// What `brood start|stop|restart` wait for: each target reaching its goal, followed from the
// supervisor's status and its state-change events (docs/protocol.md) on one connection, where
// replies and events arrive in the order they happened.
//
//   verb_goal goal(verb_goal::kind::start, status_reply);  // each instance as the snapshot has it
//   goal.apply(event);                   // every event after the snapshot, in order
//   goal.target(names);                  // the instances the verb acted on
//   while (!goal.settled()) goal.apply(next_event());
//   for (const auto& line : goal.report()) ...   // "web.0: ready", "web.1: backoff (exited with code 3)"
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace brood::control {

class verb_goal {
public:
    enum class kind {
        start,    // running or ready (or a job's clean end: exited with code 0); failed: backoff, fatal, exited
        stop,     // stopped, exited or fatal
        restart,  // as start, through a new run (starting) after the verb
    };
    static kind for_verb(const std::string& verb);

    verb_goal(kind k, const nlohmann::json& status);
    // A state-change event; others (log events) are ignored.
    void apply(const nlohmann::json& event);
    void target(const nlohmann::json& names);

    // Every target has reached its goal or failed.
    bool settled() const;
    bool any_failed() const;
    // A line per target, in the order the verb named them: where it is, and why when it failed.
    std::vector<std::string> report() const;

private:
    struct progress {
        std::string state;
        std::string note;        // the last event's note, or the status's last exit / start error
        bool new_run = false;    // went into starting after the snapshot
    };
    bool reached(const progress& p) const;
    bool failed(const progress& p) const;

    kind kind_;
    std::map<std::string, progress> instances_;
    std::vector<std::string> targets_;
};

}  // namespace brood::control
