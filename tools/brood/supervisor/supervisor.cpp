#include "supervisor/supervisor.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <charconv>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <brood/error.hpp>
#include <brood/monitor.hpp>
#include <brood/reaper.hpp>

#include "control/server.hpp"
#include "http/bearer_token.hpp"
#include "http/server.hpp"
#include "common/descendants.hpp"
#include "common/exit_codes.hpp"
#include "common/signal_inbox.hpp"
#include "common/startup_pages.hpp"
#include "supervisor/cgroup_guard.hpp"
#include "supervisor/closest_word.hpp"
#include "supervisor/fd_limit.hpp"
#include "supervisor/health_check_queue.hpp"
#include "supervisor/instance.hpp"
#include "supervisor/duration.hpp"
#include "supervisor/isolation.hpp"
#include "supervisor/program_diff.hpp"
#include "supervisor/instance_environment.hpp"
#include "supervisor/status_report.hpp"
#include "supervisor/validate.hpp"
#include "common/timestamp.hpp"

namespace brood::supervisor {

namespace {

using nlohmann::json;

// Timer tags of the shutdown's last phase and of the control socket's idle connections; an
// instance's timers are tagged serial * instance::kinds + kind, serials start at 1, so no instance
// has them.
constexpr std::uint64_t leftovers_tag = 0;
constexpr std::uint64_t control_tag = 1;
constexpr std::uint64_t shutdown_budget_tag = 2;
constexpr std::uint64_t http_tag = 3;
static_assert(http_tag < instance::kinds);
constexpr std::uint64_t check_code_tag = 4;
static_assert(check_code_tag < instance::kinds);
// How long after the last exec health check ended the code that ran it is given back: long enough
// for a round of checks (programs started together are checked together) to end first.
constexpr std::chrono::milliseconds check_code_linger{200};
// How long a turn of the loop goes on starting health checks that fell due together (always one):
// about four exec checks' spawns. The exits and requests that came meanwhile are seen before the
// rest. 200 µs (one or two spawns) cost brood more CPU a check in 500 programs' rounds and did not
// shorten the time from a failed check among ten to its restart (benchmarks.md).
constexpr std::chrono::microseconds health_check_start_budget{500};
// Watch tag of the cgroup guard; an instance's leader is watched with its serial.
constexpr std::uint64_t guard_tag = 0;
// While brood kills what is left, a process forked in the instant of the /proc walk may have been
// missed; it is looked for again at this pace until none is left.
constexpr std::chrono::milliseconds rekill_interval{50};
// At exit, how long what is still queued for brood's stdout may wait for its reader.
constexpr std::chrono::milliseconds stdout_patience{std::chrono::seconds(5)};

// brood up --log-to-stdout: every program's log.to = "stdout", whatever the file says.
loaded_config with_options(loaded_config loaded, const up_options& options) {
    if (options.log_to_stdout)
        for (program_config& program : loaded.programs) program.log.to = log_destination::standard_output;
    return loaded;
}

enum class phase { running, stopping, reaping, done };

struct program_slot {
    explicit program_slot(program_config c) : config(std::move(c)), file_instances(config.instances) {}

    program_config config;         // instances: the count wanted now, scaled or as the file says
    unsigned file_instances;       // what the file says: a reload that leaves it alone keeps a scale
    std::vector<std::unique_ptr<instance>> instances;
    std::optional<program_config> replacement;  // reload: started with this once every instance is down
    bool removing = false;                      // reload: dropped once every instance is down
    bool stop_sent = false;                     // shutdown

    bool down() const {
        return std::all_of(instances.begin(), instances.end(), [](const auto& i) { return i->down(); });
    }
    bool depends_on(const std::string& name) const {
        return std::any_of(config.depends_on.begin(), config.depends_on.end(),
                           [&](const dependency& d) { return d.name == name; });
    }
};

monitor_options loop_options() {
    // As PID 1 brood adopts orphans already; anywhere else it asks to.
    if (::getpid() != 1) become_subreaper();
    monitor_options options;
    options.report_stops = true;
    options.init_of_tree = true;  // brood up is the init of its tree
    // The only unwatched children are adopted orphans: their stops are brood's to consume.
    options.unwatched = unwatched_stops::consume;
    // A watchdog of 1 s would otherwise run out up to 1 ms late, and a replacement start that much later.
    options.precise_timers = true;
    return options;
}

class supervisor final : public instance_host {
public:
    supervisor(const up_options& options, loaded_config loaded, rlimit program_fd_limit)
        : options_(options),
          config_path_(std::filesystem::absolute(options.config)),
          load_options_(options.load),
          state_dir_(config_path_.parent_path() / ".brood"),
          socket_path_(options.socket ? std::filesystem::absolute(*options.socket) : state_dir_ / "brood.sock"),
          loop_(loop_options()),
          random_engine_(std::random_device{}()),
          colour_(::isatty(STDOUT_FILENO) == 1),
          program_fd_limit_(program_fd_limit),
          shutdown_timeout_(loaded.shutdown_timeout),
          http_config_(loaded.http),
          exit_when_all_completed_(loaded.exit_when_all_completed) {
        for (program_config& program : loaded.programs)
            slots_.push_back(std::make_unique<program_slot>(std::move(program)));
    }

    int run() {
        // The control socket first: it refuses to start when another supervisor answers there,
        // before anything of that supervisor's (its notify sockets) is touched.
        control_.emplace(
            loop_, socket_path_, [this](const control::request& r) { return serve(r); }, control_tag, control::idle_timeout,
            [this](const control::request& r, unique_fd socket, std::string unsent, std::string typed) {
                terminal_of(r.targets).attach(std::move(socket), std::move(unsent), std::move(typed));
            });
        if (http_config_.listen) start_http();
        if (isolation_.path()) start_guard(*isolation_.path());
        std::filesystem::create_directories(notify_dir_.path);
        loop_.add_fd(inbox_.fd(), EPOLLIN, [this](int, std::uint32_t) { read_signals(); });
        loop_.on_event([this](const monitor::event& e) { dispatch(e); });
        // Each program starts as soon as its own instances are made, not once all are: with
        // hundreds of programs the first would otherwise wait for all the others' preparation. The
        // start order puts every dependency first, so its instances exist when a dependant asks.
        for (std::size_t i : start_order(configs())) {
            create_instances(*slots_[i]);
            if (slots_[i]->config.autostart) start_program(*slots_[i]);
        }
        // As brood run does: what parsing and starting touched of the executable is not what the
        // loop needs, and would count in brood's own memory for as long as it supervises.
        cli::drop_startup_pages();
        loop_.run();
        for (const auto& slot : slots_)
            for (const auto& i : slot->instances) i->flush_output();
        stdout_.finish(stdout_patience);
        loop_.remove_fd(inbox_.fd());
        return exit_code_;
    }

private:
    // instance_host
    brood::monitor& loop() override { return loop_; }
    const random_source& random() override { return random_; }
    std::filesystem::path notify_dir() const override { return notify_dir_.path; }
    const rlimit& program_fd_limit() const override { return program_fd_limit_; }
    void say(std::string_view line) override { fmt::print(stderr, "brood: {}\n", line); }

    void changed(instance& which, const state_change& change) override {
        const std::string note = change.note.empty() ? "" : " (" + change.note + ")";
        say(fmt::format("{} {} -> {}{}", which.name(), to_string(change.from), to_string(change.to), note));
        publish([&] {
            json event = event_about(which);
            event["from"] = to_string(change.from);
            event["to"] = to_string(change.to);
            event["pid"] = which.pid() != 0 ? json(which.pid()) : json(nullptr);
            event["note"] = change.note;
            // What a view (brood top) shows beside the state, so that it follows events alone.
            event["restarts"] = which.restarts();
            event["last_exit"] = which.last_end() ? json(which.last_end()->to_string()) : json(nullptr);
            return event;
        });
        settle_soon();
    }

    void health_changed(instance& which, health_status from, health_status to) override {
        const bool failed = to == health_status::unhealthy && !which.health_failure().empty();
        const std::string why = failed ? " (" + which.health_failure() + ")" : "";
        // Health comes and goes with the process, as its state changes say already: not said again.
        if (from != health_status::none && to != health_status::none)
            say(fmt::format("{} health: {} -> {}{}", which.name(), to_string(from), to_string(to), why));
        publish([&] {
            json event = event_about(which);
            event["health_from"] = to_string(from);
            event["health"] = to_string(to);
            event["health_failure"] = failed ? json(which.health_failure()) : json(nullptr);
            return event;
        });
        settle_soon();  // dependants waiting for it to be healthy
    }

    // Spawning a check faults in code (the spawn, the relay, the cgroup) that the idle loop does not
    // need, a whole large folio of brood's executable at a time: with it kept, brood's PSS more than
    // doubles at 10 programs. It is given back once checks have stopped ending for a moment, as the
    // start-up code is, at the cost of faulting it in again at the next round.
    // One timer for a whole round, not one per check: when it fires, it waits on if a check ended since.
    const stdio_slots& child_stdio() const override { return child_stdio_; }

    void health_check_due(instance& which) override { due_checks_.push(which.serial()); }

    void health_check_done() override {
        last_check_end_ = std::chrono::steady_clock::now();
        if (check_code_timer_ == monitor::timer_id::none)
            check_code_timer_ = loop_.add_timer(check_code_linger, check_code_tag);
    }

    void give_back_check_code() {
        check_code_timer_ = monitor::timer_id::none;
        const auto quiet = std::chrono::steady_clock::now() - last_check_end_;
        if (quiet < check_code_linger) {
            check_code_timer_ = loop_.add_timer(check_code_linger - quiet, check_code_tag);
        } else if (!start_up_code_held_) {
            cli::drop_startup_pages();
        }
    }

    // Once when the log starts failing, once when it is written again: the program runs on.
    void log_changed(instance& which, const log_loss& loss, bool resumed) override {
        if (resumed) {
            say(fmt::format("{}: its log is written again; {} bytes of its output were lost ({})", which.name(),
                            loss.bytes, loss.error));
        } else {
            say(fmt::format("{}: output lost: {}; its output is dropped until its log can be written", which.name(),
                            loss.error));
        }
        publish([&] {
            json event = event_about(which);
            event["log"] = resumed ? "resumed" : "failing";
            event["lost_bytes"] = loss.bytes;
            event["error"] = loss.error;
            return event;
        });
    }

    // An event is made only when someone follows the events: with nobody, a change of state costs
    // its line in brood's output and a count (brood_events_total), not a JSON object and its text.
    template <class Make>
    void publish(Make&& make) {
        const bool to_control = control_ && control_->has_subscribers();
        if (!to_control && !(http_ && http_->has_event_streams())) {
            if (http_) http_->count_event();
            return;
        }
        const json event = make();
        if (to_control) control_->publish(event);
        if (http_) http_->publish(event);  // counts it, and sends it to the streams there are
    }

    // The API's token: the configured file's, else a new one each start, where only brood's user
    // may read it.
    void start_http() {
        const std::string token = http_config_.token_file ? http::read_token(*http_config_.token_file)
                                                          : http::write_new_token(state_dir_ / "http.token");
        http_.emplace(
            loop_, *http_config_.listen, token, [this](const control::request& r) { return serve(r); },
            [this] {
                std::vector<instance_figures> all;
                for (instance* i : all_instances()) all.push_back(figures_of(*i));
                return all;
            },
            http_tag);
        say(fmt::format("http on {} (token in {})", http_->address(),
                        (http_config_.token_file ? *http_config_.token_file : state_dir_ / "http.token").string()));
    }

    // The run has ended, its end says why; this event counts the kills, for those who follow them.
    void out_of_memory(instance& which, std::uint64_t kills, const std::string& why) override {
        say(fmt::format("{}: {}: the OOM killer killed {} of its processes", which.name(), why, kills));
        publish([&] {
            json event = event_about(which);
            event["out_of_memory"] = why;
            event["oom_kills"] = kills;
            return event;
        });
    }

    static json event_about(const instance& which) {
        return {{"time", cli::timestamp(std::chrono::system_clock::now())},
                {"name", which.name()},
                {"program", which.program().name},
                {"instance", which.index()}};
    }

    void essential_ended(instance& which, int code) override {
        say(fmt::format("{} is essential and has ended: stopping everything, exit code {}", which.name(), code));
        if (!essential_code_) essential_code_ = code;
        settle_soon();
    }

    std::vector<program_config> configs() const {
        std::vector<program_config> all;
        for (const auto& slot : slots_) all.push_back(slot->config);
        return all;
    }

    program_slot* find_program(std::string_view name) {
        for (const auto& slot : slots_)
            if (slot->config.name == name) return slot.get();
        return nullptr;
    }

    std::vector<instance*> all_instances() {
        std::vector<instance*> all;
        for (const auto& slot : slots_)
            for (const auto& i : slot->instances) all.push_back(i.get());
        return all;
    }

    // The widest "name.N" of all instances, so that live output lines up.
    std::size_t label_width() const {
        std::size_t width = 0;
        // Counted, not formatted: it is asked for each instance made, over every program.
        for (const auto& slot : slots_) {
            std::size_t digits = 1;
            for (unsigned last = slot->config.instances - 1; last >= 10; last /= 10) ++digits;
            width = std::max(width, slot->config.name.size() + 1 + digits);
        }
        return width;
    }

    void create_instances(program_slot& slot) {
        for (unsigned index = 0; index < slot.config.instances; ++index) add_instance(slot, index);
    }

    instance& add_instance(program_slot& slot, unsigned index) {
        const auto colour_index = static_cast<int>(
            std::find_if(slots_.begin(), slots_.end(), [&](const auto& s) { return s.get() == &slot; }) - slots_.begin());
        const std::string name = slot.config.name + "." + std::to_string(index);
        live_output live{live_prefix{make_prefix(slot.config.name, index, label_width(), colour_index, colour_),
                                     make_prefix(slot.config.name, index, label_width(), colour_index, colour_, '+')},
                         &stdout_};
        auto made = std::make_unique<instance>(*this, slot.config, index, next_serial_++,
                                               state_dir_ / "logs" / (name + ".log"), std::move(live), isolation_);
        by_serial_[made->serial()] = made.get();
        slot.instances.push_back(std::move(made));
        return *slot.instances.back();
    }

    // brood scale NAME=N: instances beyond N stop, the highest index first, and leave once down
    // (drop_surplus_instances); missing ones up to N are made and started. Everything is checked
    // before anything changes.
    json scale(const std::vector<std::string>& targets) {
        if (phase_ != phase::running) throw control::request_error("brood is shutting down");
        std::vector<std::pair<program_slot*, unsigned>> wanted;
        for (const std::string& target : targets) {
            const std::size_t equals = target.find('=');
            program_slot* slot = equals == std::string::npos ? nullptr : find_program(target.substr(0, equals));
            unsigned count = 0;
            const char* digits = target.c_str() + equals + 1;
            const auto [end, error] = std::from_chars(digits, target.c_str() + target.size(), count);
            if (equals == std::string::npos || error != std::errc() || end != target.c_str() + target.size() || count > 1000)
                throw control::request_error("scale takes NAME=COUNT, COUNT from 0 to 1000, not '" + target + "'");
            if (slot == nullptr) throw control::request_error("unknown program '" + target.substr(0, equals) + "'");
            if (slot->config.port && count > 0 && *slot->config.port + count - 1 > 65535)
                throw control::request_error(fmt::format("{}: {} instances from port {} go past 65535", slot->config.name,
                                                         count, *slot->config.port));
            wanted.emplace_back(slot, count);
        }
        json started = json::array(), stopping = json::array();
        for (auto [slot, count] : wanted) {
            slot->config.instances = count;
            for (auto i = slot->instances.rbegin(); i != slot->instances.rend(); ++i)
                if ((*i)->index() >= count && !(*i)->down()) {
                    stop_instance(**i);
                    stopping.push_back((*i)->name());
                }
            for (unsigned index = 0; index < count; ++index) {
                const bool exists = std::any_of(slot->instances.begin(), slot->instances.end(),
                                                [&](const auto& i) { return i->index() == index; });
                if (exists) continue;
                instance& made = add_instance(*slot, index);
                start_instance(*slot, made);
                started.push_back(made.name());
            }
        }
        settle_soon();
        return {{"started", started}, {"stopping", stopping}};
    }

    // Instances a scale left beyond their program's count go once they are down.
    void drop_surplus_instances() {
        for (const auto& slot : slots_)
            std::erase_if(slot->instances, [&](const std::unique_ptr<instance>& i) {
                if (i->index() < slot->config.instances || !i->down()) return false;
                i->flush_output();
                by_serial_.erase(i->serial());
                waiting_.erase(i->serial());
                return true;
            });
    }

    void drop_instances(program_slot& slot) {
        for (const auto& i : slot.instances) {
            i->flush_output();
            by_serial_.erase(i->serial());
            waiting_.erase(i->serial());
        }
        slot.instances.clear();
    }

    // Starting waits for the program's dependencies: each instance of each must meet the condition
    // depends_on gives it (ready, for the array form).
    bool dependencies_ready(const program_slot& slot) {
        for (const dependency& d : slot.config.depends_on) {
            const program_slot* needed = find_program(d.name);
            if (needed == nullptr) continue;
            for (const auto& i : needed->instances)
                if (!meets(*i, d.condition)) return false;
        }
        return true;
    }

    static bool meets(const instance& i, dependency_condition condition) {
        const state s = i.current();
        switch (condition) {
            case dependency_condition::started:
                return s == state::starting || s == state::running || s == state::ready || s == state::paused;
            case dependency_condition::ready: return s == state::ready;
            case dependency_condition::completed_successfully: return s == state::completed;
            case dependency_condition::healthy: return i.health() == health_status::healthy;
        }
        return false;
    }

    // Why a dependency can never be met as things are: it ended for good without meeting it (a job
    // that failed, a program that is fatal or exited). Empty while it still may be met.
    std::string never_met(const program_slot& slot) {
        for (const dependency& d : slot.config.depends_on) {
            const program_slot* needed = find_program(d.name);
            if (needed == nullptr) continue;
            for (const auto& i : needed->instances) {
                const state s = i->current();
                const bool ended = s == state::exited || s == state::fatal ||
                                   (s == state::completed && d.condition != dependency_condition::completed_successfully);
                if (!ended || meets(*i, d.condition)) continue;
                std::string why = i->name() + " is " + std::string(to_string(s));
                if (i->last_end()) why += ": " + i->last_exit();
                return "waiting for " + d.name + ", which cannot be met: " + why;
            }
        }
        return {};
    }

    void start_program(program_slot& slot) {
        for (const auto& i : slot.instances) start_instance(slot, *i);
    }

    void start_instance(program_slot& slot, instance& which) {
        if (dependencies_ready(slot)) {
            waiting_.erase(which.serial());
            which.handle({event_kind::start_requested});
        } else if (waiting_.insert(which.serial()).second) {
            say(which.name() + " waits for its dependencies to be ready");
        }
    }

    void stop_instance(instance& which) {
        waiting_.erase(which.serial());
        which.handle({event_kind::stop_requested});
    }

    // Work that follows a change of state, done from the loop rather than from inside the
    // instance whose change it was: it may start other instances, or destroy this one.
    void settle_soon() {
        if (settle_posted_) return;
        settle_posted_ = true;
        loop_.post([this](monitor&) {
            settle_posted_ = false;
            settle();
        });
    }

    void settle() {
        if (essential_code_ && phase_ == phase::running) begin_shutdown(*essential_code_);
        if (phase_ == phase::running) {
            drop_surplus_instances();
            finish_reloaded_programs();
            start_waiting();
            end_when_all_completed();
            give_back_start_up_code();
        } else if (phase_ == phase::stopping) {
            advance_shutdown();
        }
    }

    // Starting programs (spawns, cgroups, log files, readiness) runs code the settled loop does not
    // need: its pages are given back as run() gives back parsing's, once every program is through
    // its start, the first time after start-up and after each reload. Not after every restart: a
    // restart would then fault the code back in.
    void give_back_start_up_code() {
        if (!start_up_code_held_ || !waiting_.empty()) return;
        for (const auto& slot : slots_)
            for (const auto& i : slot->instances)
                if (i->changing()) return;
        start_up_code_held_ = false;
        cli::drop_startup_pages();
    }

    void start_waiting() {
        for (const auto& slot : slots_)
            for (const auto& i : slot->instances) {
                if (waiting_.count(i->serial()) == 0) continue;
                if (dependencies_ready(*slot)) {
                    start_instance(*slot, *i);
                    continue;
                }
                // Said once, when a dependency is seen to have ended for good.
                const std::string why = never_met(*slot);
                if (!why.empty() && said_blocked_.insert(i->serial()).second) say(i->name() + " is " + why);
            }
    }

    // exit_when = "all-completed": done when every instance of every program that starts by itself
    // has completed; the first that ended for good otherwise (exited, fatal) ends brood up with its
    // code. An essential program's end, seen first in settle(), comes before this.
    void end_when_all_completed() {
        if (!exit_when_all_completed_ || phase_ != phase::running) return;
        bool all_completed = true;
        for (const auto& slot : slots_) {
            if (!slot->config.autostart) continue;
            for (const auto& i : slot->instances) {
                if (i->current() == state::exited || i->current() == state::fatal) {
                    say(fmt::format("{} ended without completing: every program stops (exit_when = \"all-completed\")",
                                    i->name()));
                    begin_shutdown(i->last_end() ? i->last_end()->shell_code() : cli::exit_internal);
                    return;
                }
                all_completed = all_completed && i->current() == state::completed;
            }
        }
        if (all_completed) {
            say("every program has completed (exit_when = \"all-completed\")");
            begin_shutdown(0);
        }
    }

    // Reloaded programs whose old instances are all down: removed ones go, changed ones start anew.
    void finish_reloaded_programs() {
        for (auto at = slots_.begin(); at != slots_.end();) {
            program_slot& slot = **at;
            if ((!slot.removing && !slot.replacement) || !slot.down()) {
                ++at;
                continue;
            }
            drop_instances(slot);
            if (slot.removing) {
                at = slots_.erase(at);
                continue;
            }
            slot.config = std::move(*slot.replacement);
            slot.replacement.reset();
            create_instances(slot);
            if (slot.config.autostart) start_program(slot);
            ++at;
        }
    }

    void begin_shutdown(int code) {
        if (phase_ != phase::running) return;
        phase_ = phase::stopping;
        exit_code_ = code;
        waiting_.clear();
        say("shutting down");
        if (shutdown_timeout_) loop_.add_timer(*shutdown_timeout_, shutdown_budget_tag);
        advance_shutdown();
    }

    // Dependants stop first: a program is told to stop once every program depending on it is down.
    void advance_shutdown() {
        bool all_down = true;
        for (const auto& slot : slots_) {
            if (!slot->stop_sent && nothing_depending_runs(*slot)) {
                slot->stop_sent = true;
                for (const auto& i : slot->instances) stop_instance(*i);
            }
            all_down = all_down && slot->down();
        }
        if (all_down) begin_reaping();
    }

    // Shut down by a signal or a request: brood exits as its essential program did, so that a
    // container whose entrypoint is brood up reports its main program's code. The first non-zero
    // code of an essential instance; 0 when they all exited cleanly or there is none.
    int essential_stop_code() const {
        for (const auto& slot : slots_) {
            if (!slot->config.essential) continue;
            for (const auto& i : slot->instances)
                if (i->last_end() && i->last_end()->shell_code() != 0) return i->last_end()->shell_code();
        }
        return exit_code_;
    }

    bool nothing_depending_runs(const program_slot& slot) {
        return std::all_of(slots_.begin(), slots_.end(), [&](const auto& other) {
            return !other->depends_on(slot.config.name) || other->down();
        });
    }

    // Every program is down. As a subreaper brood now waits for every descendant its programs left,
    // those that setsid() included: SIGTERM, then SIGKILL after the largest stop_timeout.
    void begin_reaping() {
        phase_ = phase::reaping;
        if (!essential_code_ && !budget_spent_) exit_code_ = essential_stop_code();
        end_guard();
        if (finish_if_alone()) return;
        if (budget_spent_) {
            kill_leftovers();
            return;
        }
        std::chrono::milliseconds grace{0};
        for (const auto& slot : slots_) grace = std::max(grace, slot->config.stop_timeout);
        // Children may be left that no signal reaches: a process the last program's cgroup.kill
        // ended, adopted by brood and not yet reaped. Their reaping ends brood up; nothing was left
        // behind, and nothing is said.
        const std::size_t count = cli::signal_descendants(SIGTERM);
        if (count > 0) say(fmt::format("{} process{} left behind: SIGTERM", count, count == 1 ? "" : "es"));
        loop_.add_timer(grace, leftovers_tag);
    }

    // As PID 1 brood needs no guard: the kernel kills its whole PID namespace when it dies.
    void start_guard(const std::filesystem::path& group) {
        if (::getpid() == 1) return;
        try {
            guard_ = loop_.watch(start_cgroup_guard(group), guard_tag);
        } catch (const std::system_error& failure) {
            say(fmt::format("no brood-guard ({}): should brood be killed, what its programs leave in their cgroups "
                            "runs on until brood up --cleanup or the next brood up here",
                            failure.what()));
        }
    }

    // Every instance is down, so its cgroup is empty: the guard has nothing left to guard, and
    // must not count among the processes left behind.
    void end_guard() {
        if (guard_ == monitor::watch_id::none) return;
        child guard = loop_.release(guard_);
        guard_ = monitor::watch_id::none;
        if (!guard) return;
        guard.kill();
        guard.wait();
    }

    void guard_ended(pid_t pid, const wait_status& status) {
        guard_ = monitor::watch_id::none;
        say(fmt::format("brood-guard (pid {}) {}: should brood be killed now, what its programs leave in their "
                        "cgroups runs on until brood up --cleanup or the next brood up here",
                        pid, status.to_string()));
    }

    void kill_leftovers() {
        const std::size_t count = cli::signal_descendants(SIGKILL);
        if (count > 0) say(fmt::format("{} process{} still left: SIGKILL", count, count == 1 ? "" : "es"));
        if (!finish_if_alone()) loop_.add_timer(rekill_interval, leftovers_tag);
    }

    // shutdown_timeout has run out: whatever still runs is killed now, through the state table, and
    // brood up exits 124 so that the orchestrator's log says the budget was too short.
    void shutdown_budget_spent() {
        if (phase_ == phase::done || budget_spent_) return;
        budget_spent_ = true;
        exit_code_ = cli::exit_shutdown_timeout;
        say(fmt::format("shutdown_timeout ({}) spent: SIGKILL to everything left, exit code {}",
                        format_duration(*shutdown_timeout_), cli::exit_shutdown_timeout));
        for (const auto& slot : slots_)
            for (const auto& i : slot->instances) i->handle({event_kind::shutdown_timeout});
        if (phase_ == phase::reaping) kill_leftovers();
    }

    bool finish_if_alone() {
        if (cli::has_children()) return false;
        phase_ = phase::done;
        loop_.stop();
        return true;
    }

    void dispatch(const monitor::event& e) {
        switch (e.from) {
            case monitor::source::child:
                if (e.tag == guard_tag) {
                    if (e.status->terminal()) guard_ended(e.pid, *e.status);
                } else if ((e.tag & instance::health_check_bit) != 0) {
                    if (instance* i = find_serial(e.tag & ~instance::health_check_bit)) i->health_check_changed(*e.status);
                } else if (instance* i = find_serial(e.tag)) {
                    i->leader_changed(*e.status);
                }
                break;
            case monitor::source::timer:
                if (e.tag == control_tag) {
                    control_->timer_fired(e.timer);
                } else if (e.tag == http_tag) {
                    if (http_) http_->timer_fired(e.timer);
                } else if (e.tag == leftovers_tag) {
                    kill_leftovers();
                } else if (e.tag == shutdown_budget_tag) {
                    shutdown_budget_spent();
                } else if (e.tag == check_code_tag) {
                    if (e.timer == check_code_timer_) give_back_check_code();
                } else if (instance* i = find_serial(e.tag / instance::kinds)) {
                    i->timer_fired(e.timer, e.tag % instance::kinds);
                }
                break;
            case monitor::source::orphan:
            case monitor::source::unwatched:
                break;
        }
        if (phase_ == phase::reaping) finish_if_alone();
    }

    instance* find_serial(std::uint64_t serial) {
        const auto at = by_serial_.find(serial);
        return at == by_serial_.end() ? nullptr : at->second;
    }

    void read_signals() {
        while (const std::optional<cli::received_signal> s = inbox_.next()) {
            if (s->signal == SIGTERM || s->signal == SIGINT) {
                begin_shutdown(0);
            } else if (s->signal == SIGHUP) {
                try {
                    reload();
                } catch (const control::request_error&) {
                    // reload() has said why.
                }
            }
        }
    }

    json serve(const control::request& r) {
        if (r.verb == "status") return status();
        if (r.verb == "reload") return reload();
        if (r.verb == "scale") return scale(r.targets);
        if (r.verb == "shutdown") {
            // After the reply has gone.
            loop_.post([this](monitor&) { begin_shutdown(0); });
            return json::object();
        }
        const std::vector<instance*> targets = resolve(r.targets);
        if (r.verb == "environment") {
            json found = json::array();
            const std::map<std::string, std::string> inherited = current_environment();
            for (instance* i : targets) {
                std::map<std::string, std::string> variables = inherited;
                for (auto& [key, value] : i->environment()) variables[key] = std::move(value);
                found.push_back({{"name", i->name()}, {"environment", variables}});
            }
            return {{"instances", found}};
        }
        if (r.verb == "attach") return {{"instance", terminal_of(r.targets).name()}};
        if (r.verb == "resize") {
            json names = json::array();
            for (instance* i : targets) {
                if (!i->program().tty) throw control::request_error(i->name() + " has no terminal (its program has no tty = true)");
                i->resize({r.rows, r.cols});
                names.push_back(i->name());
            }
            return {{"instances", names}};
        }
        if (r.verb == "logs") {
            json files = json::array();
            for (instance* i : targets) {
                const log_config& log = i->program().log;
                files.push_back({{"name", i->name()},
                                 {"log", i->log_path().string()},
                                 {"format", log.format == log_format::json ? "json" : "plain"},
                                 {"timestamps", log.timestamps},
                                 {"to", log.to == log_destination::file ? "file" : "stdout"}});
            }
            return {{"files", files}};
        }
        const bool starts = r.verb == "start" || r.verb == "restart";
        if (starts && phase_ != phase::running) throw control::request_error("brood is shutting down");
        json names = json::array();
        for (instance* i : targets) {
            names.push_back(i->name());
            program_slot& slot = *find_program(i->program().name);
            if (r.verb == "start") {
                start_instance(slot, *i);
            } else if (r.verb == "stop") {
                stop_instance(*i);
            } else if (r.verb == "restart") {
                stop_instance(*i);
                start_instance(slot, *i);
            } else if (r.verb == "pause") {
                i->handle({event_kind::pause_requested});
            } else if (r.verb == "resume") {
                i->handle({event_kind::resume_requested});
            } else if (r.verb == "signal") {
                i->send(r.signal);
            } else {
                throw control::request_error("unknown verb '" + r.verb + "'");
            }
        }
        return {{"instances", names}};
    }

    // brood attach's one instance, which must be on its terminal now.
    instance& terminal_of(const std::vector<std::string>& targets) {
        const std::vector<instance*> found = resolve(targets);
        if (found.size() != 1) {
            std::string names;
            for (const instance* i : found) names += (names.empty() ? "" : ", ") + i->name();
            throw control::request_error("attach to one instance at a time, not " + names);
        }
        instance& one = *found.front();
        if (!one.program().tty) throw control::request_error(one.name() + " has no terminal (its program has no tty = true)");
        if (!one.has_terminal())
            throw control::request_error(one.name() + " is not running (" + std::string(to_string(one.current())) + ")");
        return one;
    }

    // Program names, "name.N" instances or "all", each instance once, in configuration order.
    std::vector<instance*> resolve(const std::vector<std::string>& targets) {
        std::vector<instance*> found;
        std::vector<std::string> unknown;
        const auto add = [&](instance* i) {
            if (std::find(found.begin(), found.end(), i) == found.end()) found.push_back(i);
        };
        for (const std::string& target : targets) {
            if (target == "all") {
                for (instance* i : all_instances()) add(i);
            } else if (program_slot* slot = find_program(target)) {
                for (const auto& i : slot->instances) add(i.get());
            } else if (instance* i = find_instance(target)) {
                add(i);
            } else {
                unknown.push_back(target);
            }
        }
        if (!unknown.empty()) throw control::request_error(describe_unknown(unknown));
        return found;
    }

    instance* find_instance(const std::string& name) {
        for (instance* i : all_instances())
            if (i->name() == name) return i;
        return nullptr;
    }

    std::string describe_unknown(const std::vector<std::string>& unknown) {
        std::vector<std::string> names;
        for (const auto& slot : slots_) names.push_back(slot->config.name);
        const std::vector<std::string_view> choices(names.begin(), names.end());
        std::string text;
        for (const std::string& name : unknown) {
            if (!text.empty()) text += "; ";
            text += "unknown program '" + name + "'";
            if (const auto near = closest_word(name, choices)) text += fmt::format(" (did you mean '{}'?)", *near);
        }
        return text;
    }

    json status() {
        json instances = json::array();
        for (instance* i : all_instances()) {
            json one = instance_status(*i);
            if (waiting_.count(i->serial()) != 0) {
                const std::string why = never_met(*find_program(i->program().name));
                one["waiting"] = why.empty() ? "waiting for its dependencies" : why;
            }
            instances.push_back(std::move(one));
        }
        return {{"config", config_path_.string()},
                {"pid", ::getpid()},
                {"isolation", isolation_.name()},
                {"cgroup", isolation_.path() ? json(isolation_.path()->string()) : json(nullptr)},
                {"stdout_dropped_lines", stdout_.dropped_lines()},
                {"instances", instances}};
    }

    // A reload that fails, for whatever reason, keeps the running configuration and says why: in
    // brood's output, and to the requester as a request_error. Everything that can fail but memory
    // (reading and checking the file) is done before anything changes.
    json reload() {
        try {
            return apply_reload();
        } catch (const std::exception& error) {
            say(fmt::format("reload refused, the running configuration is kept:\n{}", error.what()));
            throw control::request_error(error.what());
        }
    }

    json apply_reload() {
        if (phase_ != phase::running) throw control::request_error("brood is shutting down");
        loaded_config loaded = with_options(load_config(config_path_, load_options_), options_);
        if (!loaded.problems.empty()) {
            std::string text;
            for (const problem& p : loaded.problems) text += (text.empty() ? "" : "\n") + to_string(p);
            throw control::request_error(text);
        }
        // A program scaled at run time keeps its count while the file's count stays what it was.
        std::map<std::string, unsigned> from_file;
        for (program_config& next : loaded.programs) {
            from_file[next.name] = next.instances;
            if (const program_slot* slot = find_program(next.name); slot && next.instances == slot->file_instances)
                next.instances = slot->config.instances;
        }
        const program_diff diff = diff_programs(configs(), loaded.programs);
        shutdown_timeout_ = loaded.shutdown_timeout;
        exit_when_all_completed_ = loaded.exit_when_all_completed;
        for (const auto& slot : slots_)
            if (const auto found = from_file.find(slot->config.name); found != from_file.end())
                slot->file_instances = found->second;
        say(fmt::format("reload: {} added, {} removed, {} changed, {} unchanged{}", diff.added.size(), diff.removed.size(),
                        diff.changed.size(), diff.unchanged.size(),
                        diff.updated.empty() ? "" : fmt::format(", {} with a new health check", diff.updated.size())));
        for (program_config& next : loaded.programs) {
            program_slot* slot = find_program(next.name);
            const bool changed = std::find(diff.changed.begin(), diff.changed.end(), next.name) != diff.changed.end();
            if (slot == nullptr) {
                slots_.push_back(std::make_unique<program_slot>(std::move(next)));
                create_instances(*slots_.back());
            } else if (changed) {
                slot->replacement = std::move(next);
                for (const auto& i : slot->instances) stop_instance(*i);
            } else if (slot->config.health != next.health) {
                // Only the health check changed: the processes run on under the new one.
                slot->config.health = std::move(next.health);
                for (const auto& i : slot->instances) i->health_check_reconfigured();
            }
        }
        for (const std::string& name : diff.removed) {
            program_slot* slot = find_program(name);
            slot->removing = true;
            for (const auto& i : slot->instances) stop_instance(*i);
        }
        for (const std::string& name : diff.added)
            if (program_slot* slot = find_program(name); slot->config.autostart) start_program(*slot);
        start_up_code_held_ = true;
        settle_soon();
        return {{"added", diff.added},
                {"removed", diff.removed},
                {"changed", diff.changed},
                {"updated", diff.updated},
                {"unchanged", diff.unchanged}};
    }

    const up_options options_;
    const std::filesystem::path config_path_;
    const load_options load_options_;
    const std::filesystem::path state_dir_;
    const std::filesystem::path socket_path_;
    cli::signal_inbox inbox_;  // first: signals are blocked before anything else exists
    monitor loop_;
    stdout_queue stdout_{loop_, STDOUT_FILENO, [this](std::string_view line) { say(line); }};  // outlives the instances
    std::mt19937_64 random_engine_;
    const random_source random_ = [this] { return std::uniform_real_distribution<double>(0, 1)(random_engine_); };
    const bool colour_;
    const rlimit program_fd_limit_;
    std::optional<std::chrono::milliseconds> shutdown_timeout_;  // the whole shutdown's budget; reloaded
    const http_config http_config_;  // as at the start: a reload does not move the endpoint
    isolation isolation_{[this](std::string_view line) { say(line); }};  // outlives the instances' groups
    // Holds the instances' notify sockets; removed after them, once empty.
    struct removed_when_empty {
        std::filesystem::path path;
        ~removed_when_empty() {
            std::error_code ignored;
            std::filesystem::remove(path, ignored);
        }
    } notify_dir_{state_dir_ / "notify"};
    std::vector<std::unique_ptr<program_slot>> slots_;
    std::map<std::uint64_t, instance*> by_serial_;
    std::set<std::uint64_t> waiting_;  // instances asked to start, waiting for their dependencies
    std::set<std::uint64_t> said_blocked_;  // waiting instances whose dependency was said to be unmeetable
    bool exit_when_all_completed_ = false;
    std::uint64_t next_serial_ = 1;
    phase phase_ = phase::running;
    int exit_code_ = 0;
    bool budget_spent_ = false;
    std::optional<int> essential_code_;
    monitor::watch_id guard_ = monitor::watch_id::none;
    bool settle_posted_ = false;
    bool start_up_code_held_ = true;  // see give_back_start_up_code
    monitor::timer_id check_code_timer_ = monitor::timer_id::none;  // see health_check_done
    std::chrono::steady_clock::time_point last_check_end_{};
    stdio_slots child_stdio_;  // made with the supervisor, while brood holds few fds
    health_check_queue due_checks_{loop_, health_check_start_budget, [this](std::uint64_t serial) {
                                       if (instance* i = find_serial(serial)) i->start_due_health_check();
                                   }};
    // Last: destroyed first, while the loop they are registered in still exists.
    std::optional<control::server> control_;
    std::optional<http::server> http_;
};

}  // namespace

int run_supervisor(const up_options& options) {
    loaded_config loaded = with_options(load_config(options.config, options.load), options);
    if (!loaded.problems.empty()) {
        for (const problem& p : loaded.problems) fmt::print(stderr, "{}\n", to_string(p));
        return cli::exit_usage;
    }
    if (options.http) {
        if (!options.http->loopback && !loaded.http.token_file) {
            fmt::print(stderr, "brood: --http {}: reachable from other machines: set [http] token_file in {} to the "
                               "file that holds the API's bearer token\n",
                       options.http->text, options.config.string());
            return cli::exit_usage;
        }
        loaded.http.listen = options.http;
    }
    const rlimit inherited = raise_fd_limit();
    return supervisor(options, std::move(loaded), inherited).run();
}

}  // namespace brood::supervisor
