// Health checks: the health table as brood.toml gives it, what a reload of it changes, and the
// check over a socket (health.tcp, health.http) held against real servers: a listening port, a
// closed one, and tests/health_http_server.py answering well, badly, slowly, hugely or not at all.
// The state table's part (failures, start_period, unhealthy, the restart) is in
// test_supervisor_states.cpp; brood up running checks, in test_supervisor_up.cpp.
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <brood/brood.hpp>

#include "support/running_brood.hpp"
#include "supervisor/health_check_queue.hpp"
#include "supervisor/health_schedule.hpp"
#include "supervisor/health_socket_probe.hpp"
#include "supervisor/program_diff.hpp"
#include "supervisor/toml_config.hpp"

using namespace brood::supervisor;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> toml_problems(std::string_view text) {
    std::vector<std::string> out;
    for (const problem& p : parse_toml_config(text, "brood.toml").problems) out.push_back(to_string(p));
    return out;
}

health_config health_of(std::string_view text) {
    const loaded_config loaded = parse_toml_config(text, "brood.toml");
    EXPECT_TRUE(loaded.problems.empty()) << to_string(loaded.problems.front());
    if (loaded.programs.empty() || !loaded.programs.front().health) {
        ADD_FAILURE() << "no health check read";
        return {};
    }
    return *loaded.programs.front().health;
}

}  // namespace

// ---- the health table ----

// A check is due an interval after now, rounded up to a hundredth of the interval (at most 100 ms):
// never early, never more than that late, and the same for every instance whose check falls due
// within the same hundredth.
TEST(health_schedule, checks_due_within_a_hundredth_of_the_interval_fall_due_together) {
    using clock = std::chrono::steady_clock;
    EXPECT_EQ(health_check_grid(10s), 100ms);
    EXPECT_EQ(health_check_grid(1s), 10ms);
    EXPECT_EQ(health_check_grid(1h), 100ms);
    EXPECT_EQ(health_check_grid(50ns), 1ns);
    for (const std::chrono::nanoseconds interval : {std::chrono::nanoseconds(10s), std::chrono::nanoseconds(1s),
                                                    std::chrono::nanoseconds(250ms), std::chrono::nanoseconds(1h)}) {
        const std::chrono::nanoseconds grid = health_check_grid(interval);
        for (const clock::time_point now : {clock::time_point(123456789ns), clock::time_point(5s), clock::now()}) {
            const clock::time_point due = next_check_due(now, interval);
            EXPECT_GE(due, now + interval);
            EXPECT_LT(due, now + interval + grid);
            EXPECT_EQ(due.time_since_epoch() % grid, 0ns);
        }
    }
    // Two instances 3 ms apart, one grid step of 100 ms: due together; 150 ms apart: not.
    const clock::time_point first = next_check_due(clock::time_point(10'000'001'000ns), 10s);
    EXPECT_EQ(next_check_due(clock::time_point(10'003'000'000ns), 10s), first);
    EXPECT_EQ(next_check_due(clock::time_point(10'150'000'000ns), 10s), first + 100ms);
}

// Due checks start in the order they fell due, a budget of a turn at a time and always one: with no
// budget, one a turn; with an hour, all in one.
TEST(health_check_queue, starts_checks_in_the_order_they_fell_due_a_budget_of_a_turn_at_a_time) {
    for (const auto& [budget, per_turn] : {std::pair{brood::monitor::clock::duration::zero(), 1u}, std::pair{
                                              std::chrono::duration_cast<brood::monitor::clock::duration>(1h), 3u}}) {
        brood::monitor loop;
        loop.on_event([](const brood::monitor::event&) {});
        std::vector<std::uint64_t> started;
        health_check_queue due(loop, budget, [&](std::uint64_t serial) { started.push_back(serial); });
        for (std::uint64_t serial : {7, 3, 5}) due.push(serial);
        std::vector<std::size_t> turns;
        while (started.size() < 3 && turns.size() < 10) {
            loop.run_once(1s);
            turns.push_back(started.size());
        }
        EXPECT_EQ(started, (std::vector<std::uint64_t>{7, 3, 5}));
        EXPECT_EQ(turns.size(), 3 / per_turn) << "turns to start three with a budget of " << budget.count() << " ns";
        EXPECT_EQ(due.size(), 0u);
        EXPECT_EQ(loop.run_once(0ms), 0u);
        EXPECT_EQ(started.size(), 3u) << "a check started twice";
    }
}

// A turn stops starting checks once its budget is spent: each start takes at least 3 ms and the
// budget is 5 ms, so a turn starts one or two, never three.
TEST(health_check_queue, a_turn_ends_once_its_budget_is_spent) {
    brood::monitor loop;
    loop.on_event([](const brood::monitor::event&) {});
    std::size_t started = 0;
    health_check_queue due(loop, std::chrono::duration_cast<brood::monitor::clock::duration>(5ms), [&](std::uint64_t) {
        std::this_thread::sleep_for(3ms);
        ++started;
    });
    for (std::uint64_t serial = 1; serial <= 6; ++serial) due.push(serial);
    std::size_t turns = 0;
    while (started < 6 && turns < 10) {
        const std::size_t before = started;
        loop.run_once(1s);
        ++turns;
        EXPECT_GE(started - before, 1u) << "turn " << turns << " started nothing";
        EXPECT_LE(started - before, 2u) << "turn " << turns << " went on past its budget";
    }
    EXPECT_EQ(started, 6u);
}

// A start that throws ends its turn with the throw; the checks behind it start in the next turn.
TEST(health_check_queue, the_checks_behind_one_that_throws_start_in_the_next_turn) {
    brood::monitor loop;
    loop.on_event([](const brood::monitor::event&) {});
    std::vector<std::uint64_t> started;
    health_check_queue due(loop, std::chrono::duration_cast<brood::monitor::clock::duration>(1h), [&](std::uint64_t serial) {
        if (serial == 2) throw std::runtime_error("no check for 2");
        started.push_back(serial);
    });
    for (std::uint64_t serial : {1, 2, 3}) due.push(serial);
    EXPECT_THROW(loop.run_once(1s), std::runtime_error);
    EXPECT_EQ(started, (std::vector<std::uint64_t>{1}));
    loop.run_once(1s);
    EXPECT_EQ(started, (std::vector<std::uint64_t>{1, 3}));
    EXPECT_EQ(due.size(), 0u);
}

TEST(health_config, each_kind_with_its_defaults_or_the_values_given) {
    const health_config exec = health_of("[programs.db]\ncommand = \"db\"\nhealth = { exec = \"pg_isready -h 'a b'\" }\n");
    EXPECT_EQ(exec.kind, health_kind::exec);
    EXPECT_EQ(exec.argv, (std::vector<std::string>{"pg_isready", "-h", "a b"}));
    EXPECT_EQ(exec.interval, 10s);
    EXPECT_EQ(exec.timeout, 5s);
    EXPECT_EQ(exec.start_period, 0ms);
    EXPECT_EQ(exec.retries, 3u);
    EXPECT_EQ(exec.on_unhealthy, unhealthy_action::restart);

    // With shell = true the check is run by /bin/sh too, as the command is.
    const health_config shell =
        health_of("[programs.db]\nshell = true\ncommand = \"db\"\nhealth = { exec = \"test -e $HOME/ok\" }\n");
    EXPECT_EQ(shell.argv, (std::vector<std::string>{"/bin/sh", "-c", "test -e $HOME/ok"}));
    const health_config words = health_of("[programs.db]\ncommand = \"db\"\nhealth = { exec = [\"check\", \"a b\"] }\n");
    EXPECT_EQ(words.argv, (std::vector<std::string>{"check", "a b"}));

    const health_config http = health_of(
        "[programs.web]\ncommand = \"web\"\nport = 8080\n[programs.web.health]\nhttp = \"/healthz?full=1\"\n"
        "interval = \"2s\"\ntimeout = \"500ms\"\nstart_period = \"30s\"\nretries = 5\non_unhealthy = \"none\"\n");
    EXPECT_EQ(http.kind, health_kind::http);
    EXPECT_EQ(http.path, "/healthz?full=1");
    EXPECT_EQ(http.interval, 2s);
    EXPECT_EQ(http.timeout, 500ms);
    EXPECT_EQ(http.start_period, 30s);
    EXPECT_EQ(http.retries, 5u);
    EXPECT_EQ(http.on_unhealthy, unhealthy_action::none);

    EXPECT_EQ(health_of("[programs.cache]\ncommand = \"c\"\nport = 6379\nhealth = { tcp = true }\n").kind, health_kind::tcp);
    const loaded_config none = parse_toml_config("[programs.web]\ncommand = \"web\"\n", "brood.toml");
    EXPECT_FALSE(none.programs.at(0).health.has_value());
}

TEST(health_config, problems_name_the_file_line_and_key) {
    EXPECT_EQ(toml_problems("[programs.a]\ncommand = \"a\"\nport = 80\nhealth = { exec = \"x\", tcp = true }\n"
                            "[programs.b]\ncommand = \"b\"\nhealth = { interval = \"1s\" }\n"
                            "[programs.c]\ncommand = \"c\"\nhealth = { tcp = true }\n"
                            "[programs.d]\ncommand = \"d\"\nport = 80\nhealth = { http = \"healthz\" }\n"
                            "[programs.e]\ncommand = \"e\"\nport = 80\nhealth = { tcp = false }\n"
                            "[programs.f]\ncommand = \"f\"\nhealth = { exec = \"\", intervall = \"1s\" }\n"
                            "[programs.g]\ncommand = \"g\"\nhealth = { exec = \"x\", interval = 0, timeout = \"soon\", "
                            "retries = 0, on_unhealthy = \"kill\" }\n"
                            "[programs.h]\ncommand = \"h\"\nhealth = \"x\"\n"),
              (std::vector<std::string>{
                  "brood.toml:4:10: programs.a.health: give one check, exec, http or tcp, not \"exec\" or \"tcp\"",
                  "brood.toml:7:10: programs.b.health: give the check: exec, http or tcp",
                  "brood.toml:10:18: programs.c.health.tcp: checks the program's port, and it has none: set port",
                  "brood.toml:14:19: programs.d.health.http: expected a URL path such as \"/healthz\", found \"healthz\"",
                  "brood.toml:18:18: programs.e.health.tcp: expected true (leave health out for no check), found false",
                  "brood.toml:21:19: programs.f.health.exec: the command is empty",
                  "brood.toml:21:23: programs.f.health.intervall: unknown key (did you mean \"interval\"?)",
                  "brood.toml:24:35: programs.g.health.interval: expected a duration above zero, found 0",
                  "brood.toml:24:48: programs.g.health.timeout: expected a duration such as \"500ms\", \"2s\" or \"1m\", or a "
                  "number of seconds, found \"soon\"",
                  "brood.toml:24:66: programs.g.health.retries: expected an integer from 1 to 1000, found 0",
                  "brood.toml:24:84: programs.g.health.on_unhealthy: expected \"restart\" or \"none\", found \"kill\"",
                  "brood.toml:27:10: programs.h.health: expected a table, found a string",
              }));
}

// depends_on = { db = "healthy" } waits for db's check to pass: a program without one could never
// be, so it is refused at load. A cycle is a cycle whatever its conditions.
TEST(health_config, healthy_dependencies_need_a_check_and_cycles_mixing_conditions_are_refused) {
    const loaded_config fine = parse_toml_config("[programs.db]\ncommand = \"db\"\nhealth = { exec = \"check\" }\n"
                                                 "[programs.web]\ncommand = \"web\"\ndepends_on = { db = \"healthy\" }\n",
                                                 "brood.toml");
    ASSERT_TRUE(fine.problems.empty()) << to_string(fine.problems.front());
    EXPECT_EQ(fine.programs.at(1).depends_on.at(0).condition, dependency_condition::healthy);
    EXPECT_EQ(toml_problems("[programs.db]\ncommand = \"db\"\n"
                            "[programs.web]\ncommand = \"web\"\ndepends_on = { db = \"healthy\" }\n"),
              std::vector<std::string>{
                  "brood.toml:5:16: programs.web.depends_on.db: \"healthy\" needs a health check, and programs.db has none"});
    EXPECT_EQ(toml_problems("[programs.db]\ncommand = \"db\"\nhealth = { exec = \"check\" }\ndepends_on = { job = \"completed_successfully\" }\n"
                            "[programs.job]\ncommand = \"job\"\ndepends_on = { web = \"started\" }\n"
                            "[programs.web]\ncommand = \"web\"\ndepends_on = { db = \"healthy\" }\n"),
              std::vector<std::string>{"brood.toml:10:16: programs.web.depends_on: dependency cycle: web -> db -> job -> web"});
}

// A reload that changes only the health table restarts nothing: the check runs in the supervisor.
TEST(program_diff, a_change_of_the_health_check_alone_is_an_update_not_a_restart) {
    const auto programs = [](std::string_view text) { return parse_toml_config(text, "brood.toml").programs; };
    const auto running = programs("[programs.web]\ncommand = \"web\"\nhealth = { exec = \"a\" }\n"
                                  "[programs.db]\ncommand = \"db\"\n[programs.api]\ncommand = \"api\"\n");
    const auto next = programs("[programs.web]\ncommand = \"web\"\nhealth = { exec = \"b\", retries = 1 }\n"
                               "[programs.db]\ncommand = \"db\"\nhealth = { exec = \"c\" }\n"
                               "[programs.api]\ncommand = \"api --v2\"\nhealth = { exec = \"c\" }\n");
    const program_diff diff = diff_programs(running, next);
    EXPECT_EQ(diff.updated, (std::vector<std::string>{"web", "db"}));
    EXPECT_EQ(diff.changed, std::vector<std::string>{"api"});  // its command changed too: restarted
    EXPECT_TRUE(diff.unchanged.empty());
}

// ---- the check over a socket ----

namespace {

using steady = std::chrono::steady_clock;

// tests/health_http_server.py in one mode, on a port the kernel picks.
class http_server {
public:
    explicit http_server(const std::string& mode)
        : process_(brood::command("/usr/bin/python3")
                       .arg(BROOD_TEST_SOURCE_DIR "/health_http_server.py")
                       .arg("0")
                       .arg(mode)
                       .set_stdout(brood::stdio::pipe())
                       .spawn()),
          out_(std::move(process_.stdout_pipe())) {
        const std::optional<std::string> line = out_.next(brood::testing::deadline);
        port_ = line ? static_cast<std::uint16_t>(std::stoi(*line)) : 0;
    }
    ~http_server() {
        process_.kill();
        process_.wait();
    }
    std::uint16_t port() const { return port_; }

private:
    brood::child process_;
    brood::testing::line_reader out_;
    std::uint16_t port_ = 0;
};

// Drives the probe as brood's loop would, for at most `within`: none when it has no result by then.
std::optional<health_result> outcome(health_socket_probe& probe, std::chrono::milliseconds within) {
    const auto until = steady::now() + within;
    while (!probe.result()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - steady::now());
        if (left <= 0ms) return std::nullopt;
        pollfd ready{probe.fd(), static_cast<short>(probe.events()), 0};
        if (::poll(&ready, 1, static_cast<int>(left.count())) == 1) probe.advance();
    }
    return probe.result();
}

// A port with a listener that never accepts (its connections complete in the backlog), or none.
struct listener {
    brood::unique_fd fd{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    std::uint16_t port = 0;
    explicit listener(bool listening) {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        EXPECT_EQ(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
        port = ntohs(address.sin_port);
        if (listening) {
            EXPECT_EQ(::listen(fd.get(), 8), 0);
        }
    }
};

}  // namespace

TEST(health_socket_probe, tcp_passes_on_a_listening_port_and_names_a_refusal) {
    const listener open(true);
    health_socket_probe accepted(open.port, std::nullopt);
    const std::optional<health_result> yes = outcome(accepted, brood::testing::deadline);
    ASSERT_TRUE(yes);
    EXPECT_TRUE(yes->healthy) << yes->why;
    const listener bound_only(false);  // bound, not listening: the kernel refuses
    health_socket_probe refused(bound_only.port, std::nullopt);
    const std::optional<health_result> no = outcome(refused, brood::testing::deadline);
    ASSERT_TRUE(no);
    EXPECT_FALSE(no->healthy);
    EXPECT_EQ(no->why, "connection refused");
}

TEST(health_socket_probe, http_2xx_and_3xx_pass_and_other_statuses_fail_with_their_code) {
    for (const auto& [code, healthy] : std::vector<std::pair<int, bool>>{{200, true}, {204, true}, {302, true},
                                                                          {404, false}, {503, false}, {101, false}}) {
        http_server server("status:" + std::to_string(code));
        ASSERT_NE(server.port(), 0) << "the server did not start";
        health_socket_probe probe(server.port(), "/healthz");
        const std::optional<health_result> r = outcome(probe, brood::testing::deadline);
        ASSERT_TRUE(r) << code;
        EXPECT_EQ(r->healthy, healthy) << code;
        if (!healthy) {
            EXPECT_EQ(r->why, "HTTP " + std::to_string(code));
        }
    }
}

// What must end at the owner's timeout: no answer, or an answer slower than the timeout. The probe
// gives no result of its own, however long it is driven.
TEST(health_socket_probe, an_answer_that_never_comes_or_comes_byte_by_byte_is_left_to_the_timeout) {
    http_server silent("silent");
    health_socket_probe waiting(silent.port(), "/");
    EXPECT_FALSE(outcome(waiting, 500ms)) << waiting.result()->why;
    http_server slow("trickle:100");  // 38 bytes, 100 ms apart
    health_socket_probe trickled(slow.port(), "/");
    EXPECT_FALSE(outcome(trickled, 500ms)) << trickled.result()->why;
    // The same answer in pieces, faster than any timeout, is read whole.
    http_server quick("trickle:1");
    health_socket_probe pieces(quick.port(), "/");
    const std::optional<health_result> r = outcome(pieces, brood::testing::deadline);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->healthy) << r->why;
}

// Ten megabytes of body: the status is known from the first read, and the rest is never read. Ten
// megabytes of headers: http_parser refuses them past its limit, so nothing grows either.
TEST(health_socket_probe, a_ten_megabyte_answer_is_judged_by_its_status_line) {
    http_server body("huge_body");
    health_socket_probe probe(body.port(), "/");
    const auto started = steady::now();
    const std::optional<health_result> r = outcome(probe, brood::testing::deadline);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->healthy) << r->why;
    EXPECT_LT(steady::now() - started, 5s);
    http_server headers("huge_headers");
    health_socket_probe flooded(headers.port(), "/");
    const std::optional<health_result> h = outcome(flooded, brood::testing::deadline);
    ASSERT_TRUE(h);
    EXPECT_FALSE(h->healthy);
    EXPECT_EQ(h->why, "not an HTTP answer: too many header bytes seen; overflow detected");
}
