// brood up --http, driven from outside as Prometheus, a browser or curl would: the real brood
// command on a brood.toml of its own directory, its HTTP endpoint spoken to over raw TCP, compared
// with its control socket; each of the endpoint's limits pushed past.
#include <chrono>
#include <filesystem>
#include <iostream>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <brood/brood.hpp>

#include "http/limits.hpp"
#include "support/running_brood.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using brood::testing::brood_path;
using brood::testing::deadline;
using brood::testing::running_brood;
using clock_type = std::chrono::steady_clock;
using nlohmann::json;

struct http_answer {
    int code = 0;  // 0: no answer at all
    std::string head;
    std::string body;
};

http_answer parse_answer(const std::string& bytes) {
    http_answer a;
    const std::size_t end = bytes.find("\r\n\r\n");
    if (bytes.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return a;
    a.code = std::stoi(bytes.substr(9, 3));
    a.head = bytes.substr(0, end);
    a.body = bytes.substr(end + 4);
    return a;
}

// Reads what fd receives until the peer closes (or resets) it, or until the deadline.
std::string read_to_end(int fd, clock_type::time_point until = clock_type::now() + deadline) {
    std::string bytes;
    char buffer[16384];
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now()).count();
        pollfd readable{fd, POLLIN, 0};
        if (left <= 0 || ::poll(&readable, 1, static_cast<int>(left)) != 1) break;
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        bytes.append(buffer, static_cast<std::size_t>(n));
    }
    return bytes;
}

bool send_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// One brood up --http 127.0.0.1:0 on a brood.toml of its own directory.
class http : public ::testing::Test {
protected:
    http() : dir_("http") {}
    ~http() override {
        if (brood_) {
            brood_->signal(SIGTERM);
            brood_->wait();
        }
    }

    std::filesystem::path file(const std::string& name) const { return dir_.path() / name; }

    void start(const std::string& config, std::vector<std::string> arguments = {"--http", "127.0.0.1:0"}) {
        std::ofstream(file("brood.toml")) << config;
        std::vector<std::string> argv{brood_path(), "up", "-c", file("brood.toml").string()};
        argv.insert(argv.end(), arguments.begin(), arguments.end());
        brood_.emplace(argv);
        const auto line = brood_->err().until("http on 127.0.0.1:");
        ASSERT_TRUE(line) << "brood never said where it listens";
        port_ = static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
    }

    // Waits for brood's line saying that.
    bool saw(const std::string& text) { return brood_->err().seen_or_until(text).has_value(); }

    brood::unique_fd connect_http(int receive_buffer = 0) {
        brood::unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (receive_buffer > 0) ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port_);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return {};
        return fd;
    }

    http_answer exchange(const std::string& bytes) {
        const brood::unique_fd fd = connect_http();
        if (!fd || !send_all(fd.get(), bytes)) return {};
        return parse_answer(read_to_end(fd.get()));
    }

    http_answer get(const std::string& path) { return exchange("GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n"); }

    http_answer post(const std::string& path, const std::string& authorization) {
        std::string request = "POST " + path + " HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n";
        if (!authorization.empty()) request += "Authorization: " + authorization + "\r\n";
        return exchange(request + "\r\n");
    }

    std::string token() {
        std::string text;
        std::ifstream(file(".brood/http.token")) >> text;
        return text;
    }

    // The status verb's result over the control socket.
    json control_status() {
        brood::unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        file(".brood/brood.sock").string().copy(address.sun_path, sizeof address.sun_path - 1);
        if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return {};
        if (!send_all(fd.get(), "{\"id\":1,\"verb\":\"status\"}\n")) return {};
        brood::testing::line_reader reader(std::move(fd));
        const auto line = reader.next(deadline);
        return line ? json::parse(*line).value("result", json()) : json();
    }

    // The value of a metric without labels in /metrics.
    std::optional<double> metric(const std::string& name) {
        const http_answer a = get("/metrics");
        const std::size_t at = a.body.find("\n" + name + " ");
        if (at == std::string::npos) return std::nullopt;
        return std::stod(a.body.substr(at + name.size() + 2));
    }

    // The state each instance is in, waiting until name is in state.
    bool reaches(const std::string& name, const std::string& state) {
        for (const auto until = clock_type::now() + deadline; clock_type::now() < until; std::this_thread::sleep_for(20ms)) {
            const json status = json::parse(get("/api/v1/status").body, nullptr, false);
            if (status.is_discarded()) continue;
            for (const json& i : status["instances"])
                if (i["name"] == name && i["state"] == state) return true;
        }
        return false;
    }

    brood::testing::temp_dir dir_;
    std::optional<running_brood> brood_;
    std::uint16_t port_ = 0;
};

constexpr const char* two_programs = R"(
[programs.web]
command = "sleep 1000"
instances = 2
[programs.worker]
command = "sleep 1000"
)";

TEST_F(http, metrics_pass_promtool_and_show_every_instance) {
    start(two_programs);
    ASSERT_TRUE(reaches("worker.0", "ready"));
    const http_answer a = get("/metrics");
    ASSERT_EQ(a.code, 200) << a.head;
    EXPECT_NE(a.head.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << a.head;
    for (const std::string name : {"web.0", "web.1", "worker.0"}) {
        EXPECT_NE(a.body.find("name=\"" + name + "\",state=\"ready\"} 1"), std::string::npos) << a.body;
        EXPECT_NE(a.body.find("brood_instance_restarts_total{program=\"" + name.substr(0, name.find('.')) +
                              "\",instance=\"" + name.substr(name.find('.') + 1) + "\",name=\"" + name + "\"} 0"),
                  std::string::npos)
            << a.body;
    }
    for (const std::string name : {"brood_instance_uptime_seconds", "brood_instance_cpu_seconds_total",
                                   "brood_instance_memory_bytes", "brood_memory_bytes", "brood_events_total",
                                   "brood_http_requests_total"})
        EXPECT_NE(a.body.find("\n" + name), std::string::npos) << name;
    EXPECT_GT(metric("brood_memory_bytes").value_or(0), 0);
    EXPECT_GE(metric("brood_events_total").value_or(0), 6);  // starting and ready, three times

    const brood::process_output checked =
        brood::command(BROOD_PROMTOOL).args(std::vector<std::string>{"check", "metrics"}).output({.input = a.body, .timeout = deadline});
    EXPECT_EQ(checked.status, brood::exited{0}) << checked.out << checked.err;
    EXPECT_EQ(checked.out + checked.err, "");  // no lint warning either
}

// Failed health checks are counted per instance, over every run; an instance without a check has no sample.
TEST_F(http, metrics_count_failed_health_checks) {
    start(R"(
[programs.web]
command = "sleep 1000"
[programs.checked]
command = "sleep 1000"
health = { exec = "false", interval = "100ms", retries = 1, on_unhealthy = "none" }
)");
    ASSERT_TRUE(reaches("checked.0", "ready"));
    const std::string sample = "brood_instance_health_check_failures_total{program=\"checked\",instance=\"0\",name=\"checked.0\"} ";
    std::string body;
    double failed = 0;
    for (const auto until = clock_type::now() + deadline; clock_type::now() < until && failed < 3; std::this_thread::sleep_for(50ms)) {
        body = get("/metrics").body;
        const std::size_t at = body.find(sample);
        if (at != std::string::npos) failed = std::stod(body.substr(at + sample.size()));
    }
    EXPECT_GE(failed, 3) << body;
    EXPECT_EQ(body.find("brood_instance_health_check_failures_total{program=\"web\""), std::string::npos) << body;
    const json status = json::parse(get("/api/v1/status").body);
    EXPECT_GE(status["instances"][1]["health_checks_failed"].get<double>(), failed);
    EXPECT_TRUE(status["instances"][0]["health_checks_failed"].is_null());
    const brood::process_output checked =
        brood::command(BROOD_PROMTOOL).args(std::vector<std::string>{"check", "metrics"}).output({.input = body, .timeout = deadline});
    EXPECT_EQ(checked.status, brood::exited{0}) << checked.out << checked.err;
    EXPECT_EQ(checked.out + checked.err, "");
}

// brood reads each instance's /proc/PID/stat or statm (and its cgroup's files) through fds it opens
// as the instance starts: one per running instance, for its current process, closed when that
// process ends; scrapes open none.
TEST_F(http, the_usage_files_held_follow_each_instances_process) {
    start(two_programs);
    ASSERT_TRUE(reaches("worker.0", "ready"));
    const auto files = [&] {  // what brood's fds name, those of the instances' usage
        std::multiset<std::string> held;
        for (const auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(brood_->pid()) + "/fd")) {
            std::error_code error;
            const std::string target = std::filesystem::read_symlink(fd.path(), error).string();
            if (target.ends_with("/stat") || target.ends_with("/statm") || target.ends_with("/cpu.stat") ||
                target.ends_with("/memory.current"))
                held.insert(target);
        }
        return held;
    };
    // With a cgroup, which gives the CPU time, statm is enough.
    const auto stat_files = [](const json& status) {
        const std::string file = status["isolation"] == "cgroup" ? "/statm" : "/stat";
        std::multiset<std::string> expected;
        for (const json& i : status["instances"])
            if (i["pid"].is_number()) expected.insert("/proc/" + std::to_string(i["pid"].get<int>()) + file);
        return expected;
    };
    const auto only_stat = [](const std::multiset<std::string>& held) {
        std::multiset<std::string> stat;
        for (const std::string& f : held)
            if (f.starts_with("/proc/")) stat.insert(f);
        return stat;
    };
    const std::multiset<std::string> first = files();
    const json before = control_status();
    EXPECT_EQ(only_stat(first), stat_files(before));
    EXPECT_EQ(only_stat(first).size(), 3u);
    // With a cgroup each, cpu.stat for each instance (memory.current with a memory controller).
    const std::size_t cgroup_files = first.size() - 3;
    if (before["isolation"] == "cgroup") EXPECT_GE(cgroup_files, 3u);
    else EXPECT_EQ(cgroup_files, 0u);
    ASSERT_EQ(get("/metrics").code, 200);
    ASSERT_EQ(get("/metrics").code, 200);
    EXPECT_EQ(files(), first);  // nothing more for a scrape

    // A restart: the old processes' files closed, the new ones' open.
    ASSERT_EQ(post("/api/v1/programs/web/restart", "Bearer " + token()).code, 200);
    for (const auto until = clock_type::now() + deadline; clock_type::now() < until; std::this_thread::sleep_for(20ms)) {
        const json now = control_status();
        bool renewed = true;
        for (std::size_t i = 0; i < 2; ++i)
            renewed = renewed && now["instances"][i]["state"] == "ready" &&
                      now["instances"][i]["pid"] != before["instances"][i]["pid"];
        if (renewed) break;
    }
    const json restarted = control_status();
    EXPECT_NE(restarted["instances"][0]["pid"], before["instances"][0]["pid"]);
    EXPECT_EQ(only_stat(files()), stat_files(restarted));
    EXPECT_EQ(files().size(), first.size());

    // A stop: its process's file closed when it ends, before anyone asks again; the cgroup's, kept
    // with the cgroup for its next start.
    ASSERT_EQ(post("/api/v1/programs/worker/stop", "Bearer " + token()).code, 200);
    ASSERT_TRUE(saw("worker.0 stopping -> stopped"));
    const std::multiset<std::string> stopped = files();
    json web = restarted;
    web["instances"][2]["pid"] = nullptr;
    EXPECT_EQ(only_stat(stopped), stat_files(web));
    EXPECT_EQ(stopped.size(), first.size() - 1);
    ASSERT_EQ(get("/metrics").code, 200);
    EXPECT_EQ(files(), stopped);
}

TEST_F(http, status_is_the_control_sockets) {
    start(two_programs);
    ASSERT_TRUE(reaches("worker.0", "ready"));
    const http_answer a = get("/api/v1/status");
    ASSERT_EQ(a.code, 200);
    const json over_http = json::parse(a.body);
    const json over_socket = control_status();
    ASSERT_EQ(over_http["instances"].size(), 3u);
    ASSERT_EQ(over_socket["instances"].size(), 3u);
    EXPECT_EQ(over_http["config"], over_socket["config"]);
    EXPECT_EQ(over_http["pid"], over_socket["pid"]);
    for (std::size_t i = 0; i < 3; ++i) {
        const json& h = over_http["instances"][i];
        const json& s = over_socket["instances"][i];
        // The same schema, the same values but for what changes from one moment to the next.
        for (const auto& [key, value] : s.items()) {
            ASSERT_TRUE(h.contains(key)) << key;
            if (key != "uptime_ms" && key != "rss_bytes" && key != "memory_bytes" && key != "cpu_seconds") {
                EXPECT_EQ(h[key], value) << key;
            }
        }
        EXPECT_EQ(h.size(), s.size());
    }
}

TEST_F(http, events_stream_what_a_post_verb_does) {
    start(two_programs);
    ASSERT_TRUE(reaches("worker.0", "ready"));
    const brood::unique_fd events = connect_http();
    ASSERT_TRUE(send_all(events.get(), "GET /api/v1/events HTTP/1.1\r\nHost: test\r\n\r\n"));
    // The head comes first: brood follows this client from then on.
    std::string stream;
    for (const auto until = clock_type::now() + deadline; stream.find("\r\n\r\n") == std::string::npos;) {
        pollfd readable{events.get(), POLLIN, 0};
        ASSERT_EQ(::poll(&readable, 1, 1000), 1);
        char buffer[4096];
        const ssize_t n = ::recv(events.get(), buffer, sizeof buffer, 0);
        ASSERT_GT(n, 0);
        stream.append(buffer, static_cast<std::size_t>(n));
        ASSERT_LT(clock_type::now(), until);
    }
    EXPECT_NE(stream.find("Content-Type: text/event-stream"), std::string::npos) << stream;
    stream.erase(0, stream.find("\r\n\r\n") + 4);

    const http_answer stopped = post("/api/v1/programs/worker/stop", "Bearer " + token());
    ASSERT_EQ(stopped.code, 200) << stopped.body;
    EXPECT_EQ(json::parse(stopped.body), json({{"instances", {"worker.0"}}}));
    // Each event is one "data:" line of the control socket's event JSON, then a blank line.
    std::vector<json> seen;
    for (const auto until = clock_type::now() + deadline; clock_type::now() < until;) {
        std::size_t at;
        while ((at = stream.find("\n\n")) != std::string::npos) {
            const std::string message = stream.substr(0, at);
            stream.erase(0, at + 2);
            if (message.rfind("data: ", 0) == 0) seen.push_back(json::parse(message.substr(6)));
        }
        if (!seen.empty() && seen.back().value("to", "") == "stopped") break;
        pollfd readable{events.get(), POLLIN, 0};
        if (::poll(&readable, 1, 100) != 1) continue;
        char buffer[4096];
        const ssize_t n = ::recv(events.get(), buffer, sizeof buffer, 0);
        ASSERT_GT(n, 0);
        stream.append(buffer, static_cast<std::size_t>(n));
    }
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0]["name"], "worker.0");
    EXPECT_EQ(seen[0]["from"], "ready");
    EXPECT_EQ(seen[0]["to"], "stopping");
    EXPECT_EQ(seen[1]["to"], "stopped");
    for (const std::string key : {"time", "name", "program", "instance", "from", "to", "pid", "note"})
        EXPECT_TRUE(seen[1].contains(key)) << key;
}

TEST_F(http, post_verbs_need_the_bearer_token) {
    start(two_programs);
    ASSERT_TRUE(reaches("worker.0", "ready"));
    struct stat info {};
    ASSERT_EQ(::stat(file(".brood/http.token").c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);
    ASSERT_EQ(token().size(), 64u);

    const http_answer none = post("/api/v1/programs/worker/stop", "");
    EXPECT_EQ(none.code, 401);
    EXPECT_NE(none.head.find("WWW-Authenticate: Bearer"), std::string::npos) << none.head;
    std::string wrong = token();
    wrong.back() = wrong.back() == '0' ? '1' : '0';
    EXPECT_EQ(post("/api/v1/programs/worker/stop", "Bearer " + wrong).code, 401);
    EXPECT_EQ(post("/api/v1/programs/worker/stop", token()).code, 401);  // no scheme
    EXPECT_TRUE(reaches("worker.0", "ready"));  // still: nothing was done

    EXPECT_EQ(post("/api/v1/programs/worker/stop", "Bearer " + token()).code, 200);
    EXPECT_TRUE(reaches("worker.0", "stopped"));
    EXPECT_EQ(post("/api/v1/programs/worker/start", "Bearer " + token()).code, 200);
    EXPECT_TRUE(reaches("worker.0", "ready"));
    EXPECT_EQ(post("/api/v1/programs/web.1/pause", "Bearer " + token()).code, 200);
    EXPECT_TRUE(reaches("web.1", "paused"));
    EXPECT_EQ(post("/api/v1/programs/web.1/resume", "Bearer " + token()).code, 200);
    EXPECT_TRUE(reaches("web.1", "ready"));

    const http_answer unknown = post("/api/v1/programs/workr/stop", "Bearer " + token());
    EXPECT_EQ(unknown.code, 400);
    EXPECT_EQ(json::parse(unknown.body)["error"], "unknown program 'workr' (did you mean 'worker'?)");
    EXPECT_EQ(get("/api/v1/programs/worker/stop").code, 405);
    EXPECT_EQ(post("/api/v1/programs/worker/signal", "Bearer " + token()).code, 404);
    EXPECT_EQ(post("/metrics", "Bearer " + token()).code, 405);
}

TEST_F(http, token_file_of_the_configuration) {
    std::ofstream(file("secret")) << "  s3cret-token \n";
    start(std::string("[http]\nlisten = \"127.0.0.1:0\"\ntoken_file = \"secret\"\n") + two_programs, {});
    ASSERT_TRUE(reaches("worker.0", "ready"));
    EXPECT_FALSE(std::filesystem::exists(file(".brood/http.token")));
    EXPECT_EQ(post("/api/v1/programs/worker/stop", "Bearer s3cret-token ").code, 401);
    EXPECT_EQ(post("/api/v1/programs/worker/stop", "Bearer s3cret-token").code, 200);
    EXPECT_TRUE(reaches("worker.0", "stopped"));
}

TEST_F(http, beyond_loopback_without_a_token_file_is_refused_at_load) {
    std::ofstream(file("brood.toml")) << "[http]\nlisten = \"0.0.0.0:9180\"\n" << two_programs;
    brood::command up(brood_path());
    up.args(std::vector<std::string>{"up", "-c", file("brood.toml").string()});
    const brood::process_output refused = up.output({.input = std::nullopt, .timeout = deadline});
    EXPECT_EQ(refused.status, brood::exited{2});
    EXPECT_EQ(refused.err, file("brood.toml").string() +
                                       ":2:10: http.listen: \"0.0.0.0:9180\" is reachable from other machines: set "
                                       "http.token_file to the file that holds the API's bearer token\n");

    std::ofstream(file("brood.toml")) << two_programs;
    brood::command flag(brood_path());
    flag.args(std::vector<std::string>{"up", "-c", file("brood.toml").string(), "--http", "[::]:9180"});
    const brood::process_output also = flag.output({.input = std::nullopt, .timeout = deadline});
    EXPECT_EQ(also.status, brood::exited{2});
    EXPECT_NE(also.err.find("--http [::]:9180: reachable from other machines"), std::string::npos)
        << also.err;

    brood::command bad(brood_path());
    bad.args(std::vector<std::string>{"up", "-c", file("brood.toml").string(), "--http", "localhost:9180"});
    const brood::process_output named = bad.output({.input = std::nullopt, .timeout = deadline});
    EXPECT_EQ(named.status, brood::exited{2});
    EXPECT_NE(named.err.find("literal IPv4 or [IPv6] address"), std::string::npos) << named.err;
}

TEST_F(http, the_page_is_served_whole) {
    start(two_programs);
    const http_answer page = get("/");
    ASSERT_EQ(page.code, 200);
    EXPECT_NE(page.head.find("Content-Type: text/html; charset=utf-8"), std::string::npos);
    EXPECT_EQ(page.body.rfind("<!doctype html>", 0), 0u);
    EXPECT_NE(page.body.find("</html>"), std::string::npos);
    EXPECT_EQ(page.body.find("http://"), std::string::npos);  // nothing fetched from elsewhere
    EXPECT_EQ(page.body.find("https://"), std::string::npos);
    EXPECT_EQ(get("/index.html").code, 404);
}

TEST_F(http, bad_requests_get_400_and_brood_serves_on) {
    start(two_programs);
    EXPECT_EQ(exchange("GARBAGE\r\n\r\n").code, 400);
    EXPECT_EQ(exchange("GET /metrics HTTP/1.1\r\nContent-Length: x\r\n\r\n").code, 400);
    EXPECT_EQ(exchange("GET /metrics HTTP/1.1\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n").code, 400);
    EXPECT_EQ(get("/metrics?x=1").code, 200);  // a query is ignored
}

// Limits: each one pushed past, and brood answers others afterwards.

TEST_F(http, one_connection_over_the_limit_gets_503) {
    start(two_programs);
    std::vector<brood::unique_fd> held;
    for (std::size_t i = 0; i < brood::http::max_connections; ++i) {
        held.push_back(connect_http());
        ASSERT_TRUE(held.back());
    }
    const http_answer refused = get("/metrics");
    EXPECT_EQ(refused.code, 503) << refused.body;
    EXPECT_NE(refused.body.find("too many connections"), std::string::npos);
    held.pop_back();  // one place is free again once brood sees it closed
    http_answer served;
    int refusals = 1;
    for (const auto until = clock_type::now() + deadline; served.code != 200 && clock_type::now() < until;) {
        served = get("/metrics");
        refusals += served.code == 503;
    }
    EXPECT_EQ(served.code, 200);
    EXPECT_NE(served.body.find("brood_http_connections_refused_total " + std::to_string(refusals) + "\n"),
              std::string::npos)
        << served.body;
}

TEST_F(http, a_request_over_the_size_limit_gets_413) {
    start(two_programs);
    const std::string cookie(brood::http::max_request, 'x');
    const http_answer big = exchange("GET /metrics HTTP/1.1\r\nCookie: " + cookie + "\r\n\r\n");
    EXPECT_EQ(big.code, 413);
    const std::string body(brood::http::max_request, 'x');
    EXPECT_EQ(exchange("POST /api/v1/programs/web/stop HTTP/1.1\r\nContent-Length: " + std::to_string(body.size()) +
                       "\r\n\r\n" + body)
                  .code,
              413);
    // Just under it is served.
    const std::string fits(brood::http::max_request - 100, 'x');
    EXPECT_EQ(exchange("GET / HTTP/1.1\r\nCookie: " + fits + "\r\n\r\n").code, 200);
}

TEST_F(http, headers_sent_too_slowly_get_408) {
    start(two_programs);
    const brood::unique_fd slow = connect_http();
    const auto began = clock_type::now();
    ASSERT_TRUE(send_all(slow.get(), "GET /metrics HTTP/1.1\r\n"));
    // A header byte every 200 ms: each is progress, but the whole request never arrives.
    std::string answer;
    while (clock_type::now() - began < brood::http::request_timeout + 10s) {
        pollfd readable{slow.get(), POLLIN, 0};
        if (::poll(&readable, 1, 200) == 1) {
            answer = read_to_end(slow.get());
            break;
        }
        if (!send_all(slow.get(), "X")) break;
    }
    const auto took = clock_type::now() - began;
    EXPECT_EQ(parse_answer(answer).code, 408) << answer;
    EXPECT_GE(took, brood::http::request_timeout - 50ms);
    EXPECT_LT(took, brood::http::request_timeout + 5s);
    EXPECT_EQ(get("/metrics").code, 200);
}

TEST_F(http, an_event_client_that_does_not_read_is_dropped) {
    start(R"(
[programs.many]
command = "sleep 1000"
instances = 100
start_seconds = 0
)");
    ASSERT_TRUE(reaches("many.99", "ready"));
    // A small receive window: what brood sends piles up on its side, as for a stuck browser tab.
    const brood::unique_fd stuck = connect_http(4096);
    ASSERT_TRUE(send_all(stuck.get(), "GET /api/v1/events HTTP/1.1\r\nHost: test\r\n\r\n"));
    for (const auto until = clock_type::now() + deadline; metric("brood_http_event_clients") != 1.0;) {
        ASSERT_LT(clock_type::now(), until);
        std::this_thread::sleep_for(10ms);
    }
    // Each restart of 100 instances is some 200 events (stopping, starting, ...) of some 200 bytes;
    // brood's line about each is read on the way, or its stderr pipe would fill and block it.
    int rounds = 0;
    for (const auto until = clock_type::now() + deadline;
         metric("brood_http_event_clients_dropped_total") != 1.0 && clock_type::now() < until; ++rounds) {
        const http_answer restarted = post("/api/v1/programs/many/restart", "Bearer " + token());
        ASSERT_EQ(restarted.code, 200) << restarted.head << restarted.body;
        while (brood_->err().next(50ms)) {
        }
    }
    EXPECT_EQ(metric("brood_http_event_clients_dropped_total"), 1.0) << rounds << " rounds";
    std::cout << "dropped after " << rounds << " restarts of 100 instances\n";
    EXPECT_EQ(metric("brood_http_event_clients"), 0.0);
    // Its connection is closed: what was queued for it arrives, then the end of the stream. What
    // was queued is bounded: the backlog, and the socket buffers of both ends.
    std::size_t queued = 0;
    bool ended = false;
    for (const auto until = clock_type::now() + deadline; !ended && clock_type::now() < until;) {
        pollfd readable{stuck.get(), POLLIN, 0};
        if (::poll(&readable, 1, 100) != 1) continue;
        char buffer[65536];
        const ssize_t n = ::recv(stuck.get(), buffer, sizeof buffer, 0);
        ended = n <= 0;
        queued += n > 0 ? static_cast<std::size_t>(n) : 0;
    }
    EXPECT_TRUE(ended);
    EXPECT_LT(queued, brood::http::max_event_backlog + 4 * brood::http::event_socket_buffer + 64 * 1024);
    EXPECT_EQ(get("/metrics").code, 200);
}

}  // namespace
