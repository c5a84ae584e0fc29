// The control socket: its request parser, the server inside a monitor (replies in order, bad
// requests refused while others are served, events, slow readers dropped, peer uid, the socket
// file's life) and the client the brood verbs use.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <brood/command.hpp>
#include <brood/monitor.hpp>
#include <brood/unique_fd.hpp>

#include "control/client.hpp"
#include "control/limits.hpp"
#include "control/readiness.hpp"
#include "control/verb_goal.hpp"
#include "control/request.hpp"
#include "control/server.hpp"
#include "support/leak_check.hpp"
#include "support/temp_dir.hpp"

using namespace brood::control;
using brood::unique_fd;
using brood::testing::temp_dir;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr auto patience = 20s;  // for "eventually": the machine is small and loaded

// Echoes the request back; refuses the program "wbe".
json echo(const request& r) {
    if (!r.targets.empty() && r.targets.front() == "wbe") throw request_error("unknown program 'wbe'");
    return {{"verb", r.verb}, {"targets", r.targets}, {"signal", r.signal}};
}

// A raw client driven from the test's thread: every wait turns the server's monitor meanwhile.
class raw_client {
public:
    raw_client(brood::monitor& loop, const fs::path& socket) : loop_(loop) {
        fd_ = unique_fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        socket.native().copy(address.sun_path, sizeof address.sun_path - 1);
        if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
            throw std::system_error(errno, std::system_category(), "connect");
    }

    void send(std::string_view bytes) {
        while (!bytes.empty()) {
            const ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n > 0) bytes.remove_prefix(static_cast<std::size_t>(n));
            else if (errno == EAGAIN) loop_.run_once(10ms);
            else throw std::system_error(errno, std::system_category(), "send");
        }
    }
    // The next line, or nullopt at EOF; fails the test when none comes in time.
    std::optional<std::string> line() {
        const auto deadline = std::chrono::steady_clock::now() + patience;
        while (std::chrono::steady_clock::now() < deadline) {
            if (const auto end = buffer_.find('\n'); end != std::string::npos) {
                std::string text = buffer_.substr(0, end);
                buffer_.erase(0, end + 1);
                return text;
            }
            if (eof_) return std::nullopt;
            char chunk[8192];
            const ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
            if (n > 0) buffer_.append(chunk, static_cast<std::size_t>(n));
            else if (n == 0 || errno == ECONNRESET) eof_ = true;
            else loop_.run_once(10ms);
        }
        ADD_FAILURE() << "no line from the server within " << patience.count() << " s";
        return std::nullopt;
    }
    json reply() {
        auto text = line();
        return text ? json::parse(*text) : json();
    }
    json ask(std::string_view request_text) {
        send(std::string(request_text) + "\n");
        return reply();
    }
    int fd() const { return fd_.get(); }

private:
    brood::monitor& loop_;
    unique_fd fd_;
    std::string buffer_;
    bool eof_ = false;
};

class control_test : public ::testing::Test {
protected:
    temp_dir dir{"control"};
    fs::path socket = dir.path() / ".brood" / "brood.sock";
    brood::monitor loop;
};

// Turns the loop until done() or the deadline.
template <class Done>
bool eventually(brood::monitor& loop, Done done) {
    const auto deadline = std::chrono::steady_clock::now() + patience;
    while (!done() && std::chrono::steady_clock::now() < deadline) loop.run_once(10ms);
    return done();
}

}  // namespace

// ---- the request parser -------------------------------------------------------------------

TEST(control_request, parses_every_field) {
    const auto parsed = parse_request(R"({"id":7,"verb":"signal","targets":["web","db.1"],"signal":1})");
    ASSERT_EQ(parsed.error, "");
    EXPECT_EQ(parsed.value.id, 7u);
    EXPECT_EQ(parsed.value.verb, "signal");
    EXPECT_EQ(parsed.value.targets, (std::vector<std::string>{"web", "db.1"}));
    EXPECT_EQ(parsed.value.signal, 1);
}

TEST(control_request, round_trips_through_request_line) {
    const request sent{3, "stop", {"all"}, 0};
    std::string line = request_line(sent);
    ASSERT_EQ(line.back(), '\n');
    line.pop_back();
    const auto parsed = parse_request(line);
    ASSERT_EQ(parsed.error, "");
    EXPECT_EQ(parsed.value.id, 3u);
    EXPECT_EQ(parsed.value.verb, "stop");
    EXPECT_EQ(parsed.value.targets, std::vector<std::string>{"all"});
}

TEST(control_request, names_what_is_wrong) {
    const std::pair<const char*, const char*> cases[] = {
        {"not json", "malformed request"},
        {"[1,2]", "not a JSON object"},
        {R"({"id":1})", "\"verb\" must be a string"},
        {R"({"id":1,"verb":"explode"})", "unknown verb 'explode'"},
        {R"({"id":1,"verb":"stop"})", "needs targets"},
        {R"({"id":1,"verb":"stop","targets":"web"})", "array of names"},
        {R"({"id":1,"verb":"stop","targets":[""]})", "array of names"},
        {R"({"id":1,"verb":"signal","targets":["web"]})", "needs \"signal\""},
        {R"({"id":1,"verb":"signal","targets":["web"],"signal":0})", "signal number from 1"},
        {R"({"id":1,"verb":"status","signal":9})", "only for verb 'signal'"},
        {R"({"id":1,"verb":"status","verbose":true})", "unknown field 'verbose'"},
        {R"({"id":-1,"verb":"status"})", "unsigned integer"},
        {R"({"id":1,"verb":"status","targets":[["deep"]]})", "nested deeper"},
    };
    for (const auto& [line, error] : cases) {
        const auto parsed = parse_request(line);
        EXPECT_NE(parsed.error.find(error), std::string::npos) << line << " -> " << parsed.error;
    }
    // The id is kept for the error reply whenever it could be read.
    EXPECT_EQ(parse_request(R"({"id":9,"verb":"explode"})").value.id, 9u);
}

TEST(control_request, refuses_a_field_given_twice_naming_it) {
    // nlohmann alone would keep the last one: this request would shut brood down.
    const auto twice = parse_request(R"({"id":4,"verb":"status","verb":"shutdown"})");
    EXPECT_EQ(twice.error, "duplicate field 'verb'");
    EXPECT_EQ(twice.value.id, 4u);  // the error reply still answers request 4
    EXPECT_EQ(parse_request(R"({"verb":"stop","targets":["web"],"targets":["all"]})").error, "duplicate field 'targets'");
    EXPECT_EQ(parse_request(R"({"verb":"status","v\u0065rb":"shutdown"})").error, "duplicate field 'verb'");
    // Which of two ids would the reply carry? Neither: 0.
    const auto two_ids = parse_request(R"({"id":1,"id":2,"verb":"status"})");
    EXPECT_EQ(two_ids.error, "duplicate field 'id'");
    EXPECT_EQ(two_ids.value.id, 0u);
}

TEST(control_request, resize_takes_rows_and_cols_and_only_it_does) {
    const auto parsed = parse_request(R"({"id":2,"verb":"resize","targets":["web.0"],"rows":50,"cols":132})");
    ASSERT_EQ(parsed.error, "");
    EXPECT_EQ(parsed.value.rows, 50);
    EXPECT_EQ(parsed.value.cols, 132);
    std::string line = request_line(parsed.value);
    line.pop_back();
    EXPECT_EQ(parse_request(line).value.cols, 132);
    EXPECT_EQ(parse_request(R"({"verb":"resize","targets":["web.0"],"rows":50})").error,
              "verb 'resize' needs \"rows\" and \"cols\"");
    EXPECT_EQ(parse_request(R"({"verb":"resize","targets":["web.0"],"rows":0,"cols":80})").error,
              "\"rows\" must be an integer from 1 to 65535");
    EXPECT_EQ(parse_request(R"({"verb":"resize","targets":["web.0"],"rows":24,"cols":65536})").error,
              "\"cols\" must be an integer from 1 to 65535");
    EXPECT_EQ(parse_request(R"({"verb":"attach","targets":["web.0"],"rows":24})").error, "\"rows\" is only for verb 'resize'");
    EXPECT_EQ(parse_request(R"({"verb":"attach"})").error, "verb 'attach' needs targets (program names, NAME.N or \"all\")");
}

TEST(control_request, echoes_long_names_cut_short) {
    const std::string verb(10000, 'x');
    const auto parsed = parse_request(R"({"verb":")" + verb + "\"}");
    EXPECT_LT(parsed.error.size(), 300u);
}

// ---- the server ---------------------------------------------------------------------------

TEST_F(control_test, answers_a_request) {
    server control(loop, socket, echo);
    raw_client c(loop, socket);
    const json reply = c.ask(R"({"id":1,"verb":"stop","targets":["web"]})");
    EXPECT_EQ(reply["id"], 1);
    EXPECT_EQ(reply["ok"], true);
    EXPECT_EQ(reply["result"]["verb"], "stop");
    EXPECT_EQ(reply["result"]["targets"], json::array({"web"}));
}

// attach: answered, then the connection is the takeover handler's, with what the client sent after
// the request; the server forgets it. A refused attach leaves the connection to the protocol.
TEST_F(control_test, an_accepted_attach_hands_the_connection_over_with_what_followed_the_request) {
    unique_fd taken;
    std::string unsent;
    std::string unread;
    server control(loop, socket, echo, 0, idle_timeout, [&](const request& r, unique_fd fd, std::string u, std::string rest) {
        EXPECT_EQ(r.targets, std::vector<std::string>{"web.0"});
        taken = std::move(fd);
        unsent = std::move(u);
        unread = std::move(rest);
    });
    raw_client c(loop, socket);
    EXPECT_EQ(c.ask(R"({"id":1,"verb":"attach","targets":["wbe"]})")["error"], "unknown program 'wbe'");
    EXPECT_EQ(c.ask(R"({"id":2,"verb":"status"})")["ok"], true);
    c.send("{\"id\":3,\"verb\":\"attach\",\"targets\":[\"web.0\"]}\necho hi\r");
    const json reply = c.reply();
    EXPECT_EQ(reply["id"], 3);
    EXPECT_EQ(reply["ok"], true);
    ASSERT_TRUE(eventually(loop, [&] { return taken.get() >= 0; }));
    EXPECT_EQ(unsent, "");
    EXPECT_EQ(unread, "echo hi\r");
    EXPECT_TRUE(eventually(loop, [&] { return control.connections() == 0; }));
    ASSERT_EQ(::send(taken.get(), "hi\r\n", 4, MSG_NOSIGNAL), 4);
    EXPECT_EQ(c.line(), "hi\r");
}

TEST_F(control_test, a_server_that_attaches_to_nothing_refuses_attach) {
    server control(loop, socket, echo);
    raw_client c(loop, socket);
    EXPECT_EQ(c.ask(R"({"id":1,"verb":"attach","targets":["web.0"]})")["error"], "this server attaches to no terminal");
    EXPECT_EQ(c.ask(R"({"id":2,"verb":"status"})")["ok"], true);
}

TEST_F(control_test, refusal_by_the_handler_is_an_error_reply) {
    server control(loop, socket, echo);
    raw_client c(loop, socket);
    const json reply = c.ask(R"({"id":4,"verb":"stop","targets":["wbe"]})");
    EXPECT_EQ(reply, json::parse(R"({"id":4,"ok":false,"error":"unknown program 'wbe'"})"));
    EXPECT_EQ(c.ask(R"({"id":5,"verb":"status"})")["ok"], true);  // the connection still serves
}

TEST_F(control_test, answers_pipelined_requests_in_order) {
    server control(loop, socket, echo);
    raw_client c(loop, socket);
    std::string batch;
    for (int id = 1; id <= 100; ++id) batch += R"({"id":)" + std::to_string(id) + R"(,"verb":"status"})" + "\n";
    c.send(batch);
    for (int id = 1; id <= 100; ++id) {
        const json reply = c.reply();
        ASSERT_EQ(reply["id"], id);
        EXPECT_EQ(reply["ok"], true);
    }
}

TEST_F(control_test, refuses_bad_requests_and_keeps_serving) {
    server control(loop, socket, echo);
    raw_client bad(loop, socket);
    EXPECT_EQ(bad.ask("{not json")["ok"], false);
    const json unknown = {{"id", 2}, {"ok", false},
                          {"error", "unknown verb 'explode' (expected one of status, start, stop, restart, pause, "
                                    "resume, signal, logs, events, reload, shutdown, scale, environment, attach, resize)"}};
    EXPECT_EQ(bad.ask(R"({"id":2,"verb":"explode"})"), unknown);
    std::mt19937 random(42);
    std::string noise(4000, '\0');
    for (char& byte : noise) byte = static_cast<char>(random() % 256);
    std::replace(noise.begin(), noise.end(), '\n', ' ');  // one line of noise
    bad.send(noise + "\n");
    EXPECT_EQ(bad.reply()["ok"], false);
    raw_client good(loop, socket);
    EXPECT_EQ(good.ask(R"({"id":1,"verb":"status"})")["ok"], true);
    EXPECT_EQ(bad.ask(R"({"id":3,"verb":"status"})")["ok"], true);
}

TEST_F(control_test, closes_a_connection_whose_line_is_too_long) {
    server control(loop, socket, echo);
    raw_client huge(loop, socket);
    huge.send(std::string(max_line + 1000, 'x'));
    const json reply = huge.reply();
    EXPECT_EQ(reply["ok"], false);
    EXPECT_NE(reply["error"].get<std::string>().find("longer than 65536 bytes"), std::string::npos);
    EXPECT_EQ(huge.line(), std::nullopt);  // then closed
    raw_client other(loop, socket);
    EXPECT_EQ(other.ask(R"({"id":1,"verb":"status"})")["ok"], true);
    EXPECT_TRUE(eventually(loop, [&] { return control.connections() == 1; }));
}

TEST_F(control_test, answers_a_client_that_closed_its_sending_side) {
    server control(loop, socket, echo);
    raw_client c(loop, socket);
    c.send("{\"id\":1,\"verb\":\"status\"}\n{\"id\":2,\"verb\":\"status\"}\n");
    ASSERT_EQ(::shutdown(c.fd(), SHUT_WR), 0);
    EXPECT_EQ(c.reply()["id"], 1);
    EXPECT_EQ(c.reply()["id"], 2);
    EXPECT_EQ(c.line(), std::nullopt);
    EXPECT_TRUE(eventually(loop, [&] { return control.connections() == 0; }));
}

TEST_F(control_test, limits_the_rate_of_requests) {
    server control(loop, socket, echo);
    raw_client c(loop, socket);
    std::string batch;
    constexpr int sent = 1000;  // five bursts' worth: refused unless 8 s pass while it is served
    for (int id = 1; id <= sent; ++id) batch += R"({"id":)" + std::to_string(id) + R"(,"verb":"status"})" + "\n";
    c.send(batch);
    int ok = 0;
    int refused = 0;
    for (int id = 1; id <= sent; ++id) {
        const json reply = c.reply();
        ASSERT_EQ(reply["id"], id);
        if (reply["ok"] == true) ++ok;
        else if (reply["error"].get<std::string>().starts_with("too many requests")) ++refused;
    }
    EXPECT_GE(ok, static_cast<int>(request_burst));
    EXPECT_GT(refused, 0);
    EXPECT_EQ(ok + refused, sent);
}

TEST_F(control_test, sends_events_to_subscribers_only) {
    server control(loop, socket, echo);
    raw_client first(loop, socket);
    raw_client second(loop, socket);
    raw_client other(loop, socket);
    EXPECT_EQ(first.ask(R"({"id":1,"verb":"events"})"), json::parse(R"({"id":1,"ok":true,"result":{}})"));
    EXPECT_EQ(second.ask(R"({"id":1,"verb":"events"})")["ok"], true);
    for (int n = 0; n < 3; ++n) control.publish({{"name", "web.0"}, {"n", n}});
    for (raw_client* c : {&first, &second})
        for (int n = 0; n < 3; ++n) EXPECT_EQ(c->reply(), (json{{"event", {{"name", "web.0"}, {"n", n}}}}));
    // The other connection got no event: its next line is its reply.
    EXPECT_EQ(other.ask(R"({"id":8,"verb":"status"})")["id"], 8);
}

TEST_F(control_test, drops_a_subscriber_that_does_not_read) {
    server control(loop, socket, echo);
    raw_client stuck(loop, socket);
    raw_client reader(loop, socket);
    EXPECT_EQ(stuck.ask(R"({"id":1,"verb":"events"})")["ok"], true);
    const json big_event = {{"note", std::string(4096, 'e')}};
    // The kernel's socket buffer, then max_pending_output, then the server lets go of it.
    for (int n = 0; n < 2000 && control.connections() == 2; ++n) {
        control.publish(big_event);
        loop.run_once(0ms);
    }
    EXPECT_EQ(control.connections(), 1u);
    EXPECT_EQ(reader.ask(R"({"id":1,"verb":"status"})")["ok"], true);
}

// The server's idle timer is one of the loop's timers: the test hands their events over, as the
// supervisor does.
constexpr std::uint64_t idle_tag = 7;
void route_timers(brood::monitor& loop, server& control) {
    loop.on_event([&control](const brood::monitor::event& e) {
        if (e.from == brood::monitor::source::timer && e.tag == idle_tag) control.timer_fired(e.timer);
    });
}

TEST_F(control_test, closes_a_connection_that_sends_no_request_in_time_but_not_a_subscriber) {
    constexpr auto idle = 300ms;
    server control(loop, socket, echo, idle_tag, idle);
    route_timers(loop, control);
    raw_client follower(loop, socket);
    ASSERT_EQ(follower.ask(R"({"id":1,"verb":"events"})")["ok"], true);
    raw_client silent(loop, socket);
    raw_client partial(loop, socket);
    partial.send(R"({"id":1,"verb":)");  // never a whole request
    raw_client asking(loop, socket);
    const auto before_its_request = std::chrono::steady_clock::now();
    ASSERT_EQ(asking.ask(R"({"id":1,"verb":"status"})")["ok"], true);
    for (raw_client* c : {&silent, &partial}) {
        const json said = c->reply();
        EXPECT_EQ(said["id"], 0);
        EXPECT_EQ(said["error"], "closing the connection: no request for 300 ms");
        EXPECT_EQ(c->line(), std::nullopt);
    }
    // Its request counted: it is closed no sooner than idle after it.
    EXPECT_EQ(asking.reply()["error"], "closing the connection: no request for 300 ms");
    EXPECT_GE(std::chrono::steady_clock::now() - before_its_request, idle);
    ASSERT_TRUE(eventually(loop, [&] { return control.connections() == 1; }));
    // The follower, as long idle, still has its place and its events.
    control.publish({{"n", 1}});
    EXPECT_EQ(follower.reply(), (json{{"event", {{"n", 1}}}}));
}

TEST_F(control_test, makes_room_by_closing_the_connection_idle_the_longest) {
    server control(loop, socket, echo, idle_tag);
    std::vector<std::unique_ptr<raw_client>> open;
    for (std::size_t n = 0; n < max_connections; ++n) {
        open.push_back(std::make_unique<raw_client>(loop, socket));
        ASSERT_TRUE(eventually(loop, [&] { return control.connections() == n + 1; }));
    }
    ASSERT_EQ(open[0]->ask(R"({"id":1,"verb":"events"})")["ok"], true);  // the oldest follows events
    ASSERT_EQ(open[2]->ask(R"({"id":1,"verb":"status"})")["ok"], true);  // active since
    raw_client owner(loop, socket);
    EXPECT_EQ(owner.ask(R"({"id":1,"verb":"status"})")["ok"], true);
    const json said = open[1]->reply();
    EXPECT_EQ(said["id"], 0);
    EXPECT_EQ(said["error"], "closing the connection idle the longest to make room for a new one (at most 64 connections)");
    EXPECT_EQ(open[1]->line(), std::nullopt);
    ASSERT_TRUE(eventually(loop, [&] { return control.connections() == max_connections; }));
    for (std::size_t n : {0, 2, 3})
        EXPECT_EQ(open[n]->ask(R"({"id":2,"verb":"status"})")["id"], 2) << "connection " << n;
}

TEST_F(control_test, forgets_clients_that_go_away) {
    server control(loop, socket, echo);
    {
        raw_client a(loop, socket);
        raw_client b(loop, socket);
        a.send(R"({"id":1,"verb":"status"})");  // no newline: a partial request left behind
        ASSERT_TRUE(eventually(loop, [&] { return control.connections() == 2; }));
    }
    EXPECT_TRUE(eventually(loop, [&] { return control.connections() == 0; }));
}

TEST_F(control_test, creates_the_socket_0600_whatever_the_umask) {
    const mode_t previous = ::umask(0);
    {
        server control(loop, socket, echo);
        struct stat info {};
        ASSERT_EQ(::lstat(socket.c_str(), &info), 0);
        EXPECT_TRUE(S_ISSOCK(info.st_mode));
        EXPECT_EQ(info.st_mode & 0777, 0600u);
    }
    ::umask(previous);
}

TEST_F(control_test, unlinks_its_socket_when_destroyed) {
    {
        server control(loop, socket, echo);
        EXPECT_TRUE(fs::exists(socket));
        raw_client c(loop, socket);
        EXPECT_EQ(c.ask(R"({"id":1,"verb":"status"})")["ok"], true);
    }
    EXPECT_FALSE(fs::exists(fs::symlink_status(socket)));
}

TEST_F(control_test, leaves_a_file_that_replaced_its_socket) {
    {
        server control(loop, socket, echo);
        fs::remove(socket);
        std::ofstream(socket) << "someone else's";
    }
    EXPECT_TRUE(fs::is_regular_file(socket));
}

TEST_F(control_test, replaces_a_stale_socket) {
    fs::create_directories(socket.parent_path());
    {
        // Bound, then closed: the file stays, with nobody listening.
        unique_fd dead(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        socket.native().copy(address.sun_path, sizeof address.sun_path - 1);
        ASSERT_EQ(::bind(dead.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    }
    ASSERT_TRUE(fs::is_socket(socket));
    server control(loop, socket, echo);
    raw_client c(loop, socket);
    EXPECT_EQ(c.ask(R"({"id":1,"verb":"status"})")["ok"], true);
}

TEST_F(control_test, refuses_a_socket_where_a_supervisor_answers) {
    server first(loop, socket, echo);
    try {
        server second(loop, socket, echo);
        ADD_FAILURE() << "a second server started at the same socket";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(socket.string()), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("running there already"), std::string::npos) << e.what();
    }
    raw_client c(loop, socket);
    EXPECT_EQ(c.ask(R"({"id":1,"verb":"status"})")["ok"], true);
}

TEST_F(control_test, refuses_to_replace_what_is_not_a_socket) {
    fs::create_directories(socket.parent_path());
    std::ofstream(socket) << "precious";
    EXPECT_THROW(server(loop, socket, echo), std::runtime_error);
    std::ifstream kept(socket);
    std::string text;
    kept >> text;
    EXPECT_EQ(text, "precious");
}

TEST_F(control_test, refuses_a_socket_path_too_long_for_unix_sockets) {
    const fs::path long_path = dir.path() / std::string(120, 's');
    try {
        server control(loop, long_path, echo);
        ADD_FAILURE() << "bound a path longer than sun_path";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find(long_path.string()), std::string::npos);
    }
}

struct finished {
    int code = -1;  // the shell's code; -1 when it did not end in time
    std::string out;
    std::string err;
};

// Runs program with args while the test's loop serves its requests.
finished run_serving(brood::monitor& loop, const fs::path& dir, const std::string& program,
                     const std::vector<std::string>& args) {
    const fs::path out = dir / "out";
    const fs::path err = dir / "err";
    auto child = brood::command(program)
                     .args(args)
                     .set_stdout(brood::stdio::file(out))
                     .set_stderr(brood::stdio::file(err))
                     .spawn();
    std::optional<brood::wait_status> status;
    const auto deadline = std::chrono::steady_clock::now() + patience;
    while (!(status = child.try_wait()) && std::chrono::steady_clock::now() < deadline) loop.run_once(10ms);
    if (!status) child.kill();
    auto text = [](const fs::path& file) {
        std::ifstream in(file);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    return {status ? status->shell_code() : -1, text(out), text(err)};
}

// tests/helpers/control_client as uid (-1: ours) sending line; what it printed.
std::string run_client_as(brood::monitor& loop, const fs::path& dir, const fs::path& socket, int uid,
                          const std::string& line) {
    return run_serving(loop, dir, brood::testing::helper("control_client"), {std::to_string(uid), socket.string(), line})
        .out;
}

TEST_F(control_test, another_uid_cannot_connect_through_the_0600_socket) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to become another uid";
    server control(loop, socket, echo);
    ::chmod(dir.path().c_str(), 0755);  // let nobody reach the socket file itself
    ::chmod(socket.parent_path().c_str(), 0755);
    EXPECT_EQ(run_client_as(loop, dir.path(), socket, 65534, R"({"id":1,"verb":"status"})"), "connect: EACCES\n");
}

TEST_F(control_test, another_uid_is_refused_by_its_credentials) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to become another uid";
    server control(loop, socket, echo);
    // Even where the file's mode lets it connect, the peer's uid is checked.
    ::chmod(dir.path().c_str(), 0755);
    ::chmod(socket.parent_path().c_str(), 0755);
    ::chmod(socket.c_str(), 0666);
    // It sends nothing: a request unread when the server closes could turn its reply into ECONNRESET.
    const json reply = json::parse(run_client_as(loop, dir.path(), socket, 65534, ""));
    EXPECT_EQ(reply["ok"], false);
    EXPECT_NE(reply["error"].get<std::string>().find("permission denied: uid 65534"), std::string::npos);
    // Root (our uid here) is served.
    EXPECT_EQ(json::parse(run_client_as(loop, dir.path(), socket, -1, R"({"id":1,"verb":"status"})"))["ok"], true);
}

// ---- the client ---------------------------------------------------------------------------

TEST_F(control_test, client_calls_and_follows_events) {
    std::atomic<brood::monitor*> serving{nullptr};
    std::promise<void> stop_returned;  // the loop outlives this thread's stop() call on it
    std::thread supervisor([&] {
        brood::monitor own;
        server control(own, socket, [&](const request& r) {
            if (r.verb == "stop") own.post([&control](brood::monitor&) { control.publish({{"to", "stopped"}}); });
            return echo(r);
        });
        own.on_event([](const brood::monitor::event&) {});
        serving = &own;
        own.run();
        stop_returned.get_future().wait();
    });
    while (serving == nullptr) std::this_thread::sleep_for(1ms);
    {
        client c(socket);
        EXPECT_EQ(c.call("status")["verb"], "status");
        EXPECT_THROW(c.call("stop", {"wbe"}), request_error);
        EXPECT_EQ(c.call("events"), json::object());
        EXPECT_EQ(c.call("stop", {"web"})["targets"], json::array({"web"}));
        EXPECT_EQ(c.next_event(), (json{{"to", "stopped"}}));
    }
    serving.load()->stop();
    stop_returned.set_value();
    supervisor.join();
}

TEST_F(control_test, client_names_the_socket_where_nobody_answers) {
    try {
        client c(socket);
        ADD_FAILURE() << "connected to nothing";
    } catch (const no_supervisor& e) {
        EXPECT_EQ(std::string(e.what()), "no supervisor running at " + socket.string() + " (ENOENT)");
    }
}

// ---- the brood verbs, against a server with a fake handler ------------------------------------

namespace {

const fs::path brood_binary = fs::path(BROOD_TOOLS_DIR) / "brood";

json fake_status() {
    return json::parse(R"({"config":"/srv/brood.toml","pid":1,"isolation":"process group","cgroup":null,"instances":[
        {"program":"web","instance":0,"name":"web.0","state":"running","pid":830,"since":"2026-11-23T13:40:31.123Z",
         "uptime_ms":723000,"restarts":2,"last_exit":"exited with code 3","rss_bytes":10276044,"log":"/srv/web.0.log"},
        {"program":"web","instance":1,"name":"web.1","state":"backoff","pid":null,"since":"2026-11-23T13:40:31.123Z",
         "uptime_ms":null,"restarts":3,"last_exit":"killed by SIGSEGV","rss_bytes":null,"log":"/srv/web.1.log"}]})");
}

}  // namespace

TEST_F(control_test, brood_status_prints_a_table_or_json) {
    server control(loop, socket, [](const request&) { return fake_status(); });
    const finished table = run_serving(loop, dir.path(), brood_binary, {"status", "--socket", socket.string()});
    EXPECT_EQ(table.code, 0) << table.err;
    EXPECT_EQ(table.out,
              "NAME   STATE    PID  UPTIME  RESTARTS  LAST-EXIT            RSS\n"
              "web.0  running  830  12m03s         2  exited with code 3  9.8M\n"
              "web.1  backoff    -  -              3  killed by SIGSEGV      -\n");
    const finished raw = run_serving(loop, dir.path(), brood_binary, {"status", "--json", "--socket", socket.string()});
    EXPECT_EQ(raw.code, 0) << raw.err;
    EXPECT_EQ(json::parse(raw.out), fake_status());
}

TEST_F(control_test, brood_verbs_send_their_targets_and_print_what_was_done) {
    std::vector<request> seen;
    server control(loop, socket, [&](const request& r) {
        seen.push_back(r);
        if (r.targets.front() == "wbe") throw request_error("unknown program 'wbe'");
        return json{{"instances", {"web.0", "web.1"}}};
    });
    // --no-wait: this fake supervisor knows no status and sends no events to wait on.
    const finished stopped =
        run_serving(loop, dir.path(), brood_binary, {"stop", "--no-wait", "web", "--socket", socket.string()});
    EXPECT_EQ(stopped.code, 0) << stopped.err;
    EXPECT_EQ(stopped.out, "stop: web.0 web.1\n");
    const finished signalled =
        run_serving(loop, dir.path(), brood_binary, {"signal", "HUP", "web.1", "--socket", socket.string()});
    EXPECT_EQ(signalled.code, 0) << signalled.err;
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[1].verb, "signal");
    EXPECT_EQ(seen[1].signal, SIGHUP);
    EXPECT_EQ(seen[1].targets, std::vector<std::string>{"web.1"});
    const finished refused =
        run_serving(loop, dir.path(), brood_binary, {"restart", "--no-wait", "wbe", "--socket", socket.string()});
    EXPECT_EQ(refused.code, 1);
    EXPECT_EQ(refused.err, "brood: unknown program 'wbe'\n");
}

TEST_F(control_test, brood_verbs_name_the_socket_where_no_supervisor_runs) {
    // Found through -c: the socket beside the configuration, which nobody serves.
    const fs::path config = dir.path() / "brood.toml";
    std::ofstream(config) << "[programs.web]\ncommand = \"true\"\n";
    const finished result = run_serving(loop, dir.path(), brood_binary, {"status", "-c", config.string()});
    EXPECT_EQ(result.code, 1);
    EXPECT_EQ(result.err, "brood: no supervisor running at " + (dir.path() / ".brood" / "brood.sock").string() +
                              " (ENOENT)\n");
}

TEST_F(control_test, brood_logs_prints_the_last_lines_of_each_file) {
    const fs::path web0 = dir.path() / "web.0.log";
    const fs::path web1 = dir.path() / "web.1.log";
    std::ofstream(web0) << "one\ntwo\nthree\n";
    std::ofstream(web1) << "alpha\nbeta";
    server control(loop, socket, [&](const request& r) {
        json files = json::array();
        if (r.targets.front() != "web.1") files.push_back({{"name", "web.0"}, {"log", web0.string()}});
        files.push_back({{"name", "web.1"}, {"log", web1.string()}});
        return json{{"files", files}};
    });
    const finished one = run_serving(loop, dir.path(), brood_binary, {"logs", "-n", "2", "web.1", "--socket", socket.string()});
    EXPECT_EQ(one.code, 0) << one.err;
    EXPECT_EQ(one.out, "alpha\nbeta\n");
    const finished both = run_serving(loop, dir.path(), brood_binary, {"logs", "-n", "2", "web", "--socket", socket.string()});
    EXPECT_EQ(both.code, 0) << both.err;
    EXPECT_EQ(both.out, "web.0 | two\nweb.0 | three\nweb.1 | alpha\nweb.1 | beta\n");
}

TEST_F(control_test, refuses_a_connection_when_every_place_follows_events) {
    server control(loop, socket, echo, idle_tag);
    std::vector<std::unique_ptr<raw_client>> followers;
    for (std::size_t n = 0; n < max_connections; ++n) {
        followers.push_back(std::make_unique<raw_client>(loop, socket));
        ASSERT_EQ(followers.back()->ask(R"({"id":1,"verb":"events"})")["ok"], true);
    }
    raw_client late(loop, socket);
    const json said = late.reply();
    EXPECT_EQ(said["id"], 0);
    EXPECT_EQ(said["error"], "too many connections (at most 64, each following events)");
    // The brood verbs print what the supervisor said.
    const finished status = run_serving(loop, dir.path(), brood_binary, {"status", "--socket", socket.string()});
    EXPECT_EQ(status.code, 1);
    EXPECT_EQ(status.err, "brood: too many connections (at most 64, each following events)\n");
}

// ---- brood status --check ----

namespace {
nlohmann::json instance_in(const std::string& name, const std::string& state, nlohmann::json last_exit_code = nullptr,
                           nlohmann::json last_exit = nullptr, nlohmann::json start_error = nullptr) {
    return {{"name", name}, {"state", state}, {"last_exit_code", last_exit_code}, {"last_exit", last_exit},
            {"start_error", start_error}};
}
}  // namespace

TEST(readiness_check, ready_stopped_and_finished_jobs_are_where_they_should_be) {
    const nlohmann::json status{{"instances",
                                 {instance_in("web.0", "ready"), instance_in("admin.0", "stopped"),
                                  instance_in("migrate.0", "completed", 0, "exited with code 0")}}};
    EXPECT_EQ(brood::control::not_ready(status), std::nullopt);
    EXPECT_EQ(brood::control::not_ready({{"instances", nlohmann::json::array()}}), std::nullopt);
}

TEST(readiness_check, every_instance_that_is_not_is_named_with_why_in_one_line) {
    const nlohmann::json status{
        {"instances",
         {instance_in("web.0", "ready"), instance_in("web.1", "backoff", 3, "exited with code 3"),
          instance_in("db.0", "starting"), instance_in("migrate.0", "exited", 1, "exited with code 1"),
          instance_in("api.0", "fatal", 125, nullptr, "open log \"x\": EMFILE"), instance_in("cache.0", "running"),
          instance_in("worker.0", "paused"), instance_in("old.0", "stopping")}}};
    EXPECT_EQ(brood::control::not_ready(status),
              std::optional<std::string>("not ready: web.1 backoff (exited with code 3), db.0 starting, migrate.0 "
                                         "exited (exited with code 1), api.0 fatal (open log \"x\": EMFILE), "
                                         "cache.0 running, worker.0 paused, old.0 stopping"));
}

// ---- brood start|stop|restart wait for their goal ----

namespace {
nlohmann::json change(const std::string& name, const std::string& from, const std::string& to,
                      const std::string& note = "") {
    return {{"name", name}, {"from", from}, {"to", to}, {"note", note}};
}
const nlohmann::json two_ready{{"instances", {instance_in("web.0", "ready"), instance_in("web.1", "ready")}}};
}  // namespace

TEST(verb_goal, stop_waits_until_each_target_is_down) {
    brood::control::verb_goal goal(brood::control::verb_goal::kind::stop, two_ready);
    goal.apply(change("web.0", "ready", "stopping"));  // caused by the verb, before its reply
    goal.target({"web.0"});
    EXPECT_FALSE(goal.settled());
    goal.apply(change("web.1", "ready", "stopping"));  // not a target
    goal.apply(change("web.0", "stopping", "stopped", "killed by SIGTERM"));
    EXPECT_TRUE(goal.settled());
    EXPECT_FALSE(goal.any_failed());
    EXPECT_EQ(goal.report(), (std::vector<std::string>{"web.0: stopped (killed by SIGTERM)"}));
}

TEST(verb_goal, start_is_done_when_running_or_ready_and_fails_on_backoff_fatal_or_a_failed_exit) {
    const nlohmann::json status{{"instances",
                                 {instance_in("web.0", "stopped"), instance_in("bad.0", "stopped"),
                                  instance_in("job.0", "stopped"), instance_in("up.0", "ready")}}};
    brood::control::verb_goal goal(brood::control::verb_goal::kind::start, status);
    goal.apply(change("web.0", "stopped", "starting"));
    goal.apply(change("bad.0", "stopped", "starting"));
    goal.apply(change("job.0", "stopped", "starting"));
    goal.target({"web.0", "bad.0", "job.0", "up.0"});
    EXPECT_FALSE(goal.settled());
    goal.apply(change("web.0", "starting", "running"));
    goal.apply(change("bad.0", "starting", "backoff", "exited with code 3; restart in 1s"));
    EXPECT_FALSE(goal.settled()) << "job.0 still starting";
    goal.apply(change("job.0", "starting", "completed", "exited with code 0"));
    EXPECT_TRUE(goal.settled());
    EXPECT_TRUE(goal.any_failed());
    EXPECT_EQ(goal.report(), (std::vector<std::string>{"web.0: running", "bad.0: backoff (exited with code 3; restart in 1s)",
                                                       "job.0: completed (exited with code 0)", "up.0: ready"}));
}

TEST(verb_goal, restart_needs_a_new_run_not_the_old_one_still_ready) {
    brood::control::verb_goal goal(brood::control::verb_goal::kind::restart, two_ready);
    goal.target({"web.1"});
    EXPECT_FALSE(goal.settled()) << "ready, but not yet restarted";
    goal.apply(change("web.1", "ready", "stopping"));
    goal.apply(change("web.1", "stopping", "stopped", "killed by SIGTERM"));
    EXPECT_FALSE(goal.settled()) << "stopped on the way is no failure";
    goal.apply(change("web.1", "stopped", "starting"));
    goal.apply(change("web.1", "starting", "ready"));
    EXPECT_TRUE(goal.settled());
    EXPECT_FALSE(goal.any_failed());
}

TEST(verb_goal, a_target_not_there_yet_is_reported_as_such) {
    brood::control::verb_goal goal(brood::control::verb_goal::kind::start, two_ready);
    goal.apply(change("web.0", "ready", "stopping"));
    goal.target({"web.0"});
    EXPECT_TRUE(goal.any_failed());
    EXPECT_EQ(goal.report(), (std::vector<std::string>{"web.0: stopping (not there yet)"}));
}
