// brood top, seen as a user sees it: a real brood up, and brood top running in a shell inside a
// detached tmux of a fixed size, driven with send-keys and read with capture-pane. tmux runs on a
// socket of its own (-L) and only that server is killed at the end.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <brood/brood.hpp>

#include "support/leak_check.hpp"
#include "support/running_brood.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using brood::testing::brood_path;
using brood::testing::deadline;
using brood::testing::helper;
using brood::testing::running_brood;
using clock_type = std::chrono::steady_clock;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// A tmux server of the test's own, with one session of a fixed size whose pane runs sh.
class tmux_session {
public:
    tmux_session(int width, int height)
        : socket_("brood-test-top-" + std::to_string(::getpid()) + "-" + std::to_string(++count_)) {
        // -f /dev/null: none of the user's configuration. PS1 is a prompt the test can look for.
        run({"-f", "/dev/null", "new-session", "-d", "-s", "top", "-x", std::to_string(width), "-y",
             std::to_string(height), "env PS1='test$ ' sh"});
        const std::string path = format("#{socket_path}");
        socket_path_ = path.substr(0, path.find('\n'));
    }
    // tmux leaves the socket's file behind when its server ends.
    ~tmux_session() {
        run({"kill-server"});
        std::filesystem::remove(socket_path_);
    }
    tmux_session(const tmux_session&) = delete;
    tmux_session& operator=(const tmux_session&) = delete;

    // Runs tmux on this server; its stdout.
    std::string run(const std::vector<std::string>& arguments) const {
        brood::command tmux("tmux");
        tmux.arg("-L").arg(socket_);
        for (const std::string& a : arguments) tmux.arg(a);
        const brood::process_output result = tmux.output({std::nullopt, deadline});
        EXPECT_EQ(result.status, brood::exited{0}) << "tmux " << arguments.front() << ": " << result.err;
        return result.out;
    }

    // Types a line into the shell, as if at the keyboard.
    void type_line(const std::string& text) const {
        run({"send-keys", "-t", "top", "-l", text});
        run({"send-keys", "-t", "top", "Enter"});
    }
    void keys(const std::vector<std::string>& names) const {
        std::vector<std::string> arguments{"send-keys", "-t", "top"};
        arguments.insert(arguments.end(), names.begin(), names.end());
        run(arguments);
    }
    // What the pane shows now, one string per line (trailing blanks dropped); with escapes, its
    // colours and attributes as SGR sequences.
    std::string screen(bool escapes = false) const {
        return escapes ? run({"capture-pane", "-p", "-e", "-t", "top"}) : run({"capture-pane", "-p", "-t", "top"});
    }
    std::string format(const std::string& variables) const { return run({"display-message", "-p", "-t", "top", variables}); }
    bool alternate_screen() const { return format("#{alternate_on}") == "1\n"; }
    void resize(int width, int height) const {
        run({"resize-window", "-t", "top", "-x", std::to_string(width), "-y", std::to_string(height)});
    }

    // The screen once it satisfies shows, looking every 20 ms until the deadline; the last screen
    // seen either way, with the verdict.
    std::pair<bool, std::string> wait_for(const std::function<bool(const std::string&)>& shows) const {
        std::string seen;
        for (const auto until = clock_type::now() + deadline; clock_type::now() < until;) {
            seen = screen();
            if (shows(seen)) return {true, seen};
            std::this_thread::sleep_for(20ms);
        }
        return {false, seen};
    }

private:
    static inline int count_ = 0;
    std::string socket_;
    std::filesystem::path socket_path_;
};

// The line of the screen that starts with an instance's name ("" without one).
std::string row_of(const std::string& screen, const std::string& name) {
    for (const std::string& line : lines_of(screen))
        if (line.rfind(name + " ", 0) == 0) return line;
    return "";
}

bool row_shows(const std::string& screen, const std::string& name, const std::string& text) {
    return row_of(screen, name).find(text) != std::string::npos;
}

std::string last_line(const std::string& screen, int height) {
    const std::vector<std::string> lines = lines_of(screen);
    return static_cast<int>(lines.size()) >= height ? lines[static_cast<std::size_t>(height - 1)] : "";
}

// The rows of the fixture's four instances, as they are once brood up has settled.
bool shows_every_row(const std::string& screen) {
    return row_shows(screen, "web.0", "ready") && row_shows(screen, "web.1", "ready") &&
           row_shows(screen, "worker.0", "ready") && row_shows(screen, "crash.0", "exited with code 3");
}

class top : public ::testing::Test {
protected:
    top() : dir_("top") {
        std::ofstream(config()) << "[programs.web]\ncommand = [\"" << helper("pause") << "\"]\ninstances = 2\n\n"
                                << "[programs.worker]\ncommand = [\"" << helper("pause") << "\"]\n"
                                // healthy once the test makes the file
                                << "[programs.worker.health]\nexec = [\"test\", \"-e\", \"" << (dir_.path() / "healthy").string()
                                << "\"]\ninterval = \"200ms\"\nretries = 1\non_unhealthy = \"none\"\n\n"
                                << "[programs.crash]\ncommand = [\"sh\", \"-c\", \"echo crashing; exit 3\"]\n"
                                << "restart = \"never\"\n";
        brood_.emplace(std::vector<std::string>{brood_path(), "up", "-c", config().string()});
        for (const char* settled : {"web.0 starting -> ready", "web.1 starting -> ready", "worker.0 starting -> ready",
                                    "-> exited (exited with code 3"})
            EXPECT_TRUE(brood_->err().seen_or_until(settled)) << settled;
    }

    ~top() override {
        if (brood_ && !ended_) {
            brood_->signal(SIGTERM);
            brood_->wait();
        }
    }

    std::filesystem::path config() const { return dir_.path() / "brood.toml"; }

    // brood top in the pane's shell, and what it exits with after it: top-exit=N at the start of a
    // line, which the command line as typed (top-ex""it) does not show.
    std::string top_line(const std::string& environment = "") const {
        return environment + (environment.empty() ? "" : " ") + brood_path() + " top -c " + config().string() +
               "; echo \"top-ex\"\"it=$?\"";
    }

    // brood top typed into the pane's shell; the screen once it shows every row, or at the deadline.
    std::pair<bool, std::string> start_top(const tmux_session& tmux, const std::string& environment = "") const {
        tmux.type_line(top_line(environment));
        return tmux.wait_for(shows_every_row);
    }

    nlohmann::json status() const {
        const brood::process_output result =
            brood::command(brood_path()).arg("status").arg("--json").arg("-c").arg(config().string()).output();
        EXPECT_EQ(result.status, brood::exited{0}) << result.err;
        return nlohmann::json::parse(result.out);
    }

    // The pid of what the pane's shell runs (brood top), 0 when it runs nothing.
    pid_t top_pid(const tmux_session& tmux) const {
        const pid_t shell = std::stoi(tmux.format("#{pane_pid}"));
        const std::vector<pid_t> children = brood::proc::children_of(shell);
        return children.empty() ? 0 : children.front();
    }

    brood::testing::temp_dir dir_;
    std::optional<running_brood> brood_;
    bool ended_ = false;
};

// The shell has printed top's exit code and then its prompt again. The echo and the prompt are two
// writes, so a screen taken between them shows only the code: wait for both.
bool prompt_after_exit(const std::string& screen) {
    const std::size_t code = screen.find("top-exit=");
    return code != std::string::npos && (code == 0 || screen[code - 1] == '\n') &&
           screen.find("\ntest$", code) != std::string::npos;
}

// Once top has ended: the shell's screen is back as it was (its prompt after top's exit code, no
// trace of the table, no alternate screen). The screen then.
std::string expect_shell_back(const tmux_session& tmux, int code) {
    const auto [shown, screen] = tmux.wait_for(prompt_after_exit);
    EXPECT_TRUE(shown) << screen;
    EXPECT_NE(screen.find("top-exit=" + std::to_string(code) + "\ntest$"), std::string::npos) << screen;
    EXPECT_EQ(screen.find("LAST-EXIT"), std::string::npos) << screen;
    EXPECT_FALSE(tmux.alternate_screen());
    return screen;
}

// The HEALTH column follows the supervisor's health events: unhealthy while the check fails, healthy
// once it passes; instances without a check show "-".
TEST_F(top, health_column_follows_the_checks) {
    tmux_session tmux(100, 24);
    auto [shown, screen] = start_top(tmux);
    ASSERT_TRUE(shown) << screen;
    EXPECT_NE(screen.find("HEALTH"), std::string::npos) << screen;
    std::tie(shown, screen) = tmux.wait_for([](const std::string& s) { return row_shows(s, "worker.0", " unhealthy "); });
    EXPECT_TRUE(shown) << screen;
    EXPECT_TRUE(row_shows(screen, "web.0", " ready      - ")) << screen;
    std::ofstream(dir_.path() / "healthy").put('\n');
    std::tie(shown, screen) = tmux.wait_for([](const std::string& s) { return row_shows(s, "worker.0", " healthy "); });
    EXPECT_TRUE(shown) << screen;
    EXPECT_EQ(status()["instances"][2]["health"], "healthy");
    tmux.keys({"q"});
    expect_shell_back(tmux, 0);
}

TEST_F(top, shows_every_instance_stops_one_follows_resizes_and_quits_clean) {
    tmux_session tmux(100, 24);
    auto [shown, screen] = start_top(tmux);
    ASSERT_TRUE(shown) << screen;
    EXPECT_TRUE(tmux.alternate_screen());
    EXPECT_NE(screen.find("NAME"), std::string::npos);
    EXPECT_NE(screen.find("LAST-EXIT"), std::string::npos);
    // The pid column is brood's: the instance's process.
    const nlohmann::json before = status();
    const std::string web0_pid = std::to_string(before["instances"][0]["pid"].get<int>());
    EXPECT_TRUE(row_shows(screen, "web.0", " " + web0_pid + " ")) << screen;
    // States are coloured: ready in green (SGR 32), exited in magenta (35).
    const std::string coloured = tmux.screen(true);
    EXPECT_NE(coloured.find("\x1b[32mready"), std::string::npos) << coloured;
    EXPECT_NE(coloured.find("\x1b[35mexited"), std::string::npos) << coloured;

    // The second row is web.1: down once, then the stop key.
    tmux.keys({"j", "S"});
    std::tie(shown, screen) = tmux.wait_for([](const std::string& s) {
        return row_shows(s, "web.1", "stopped") && row_shows(s, "web.1", "killed by SIGTERM");
    });
    EXPECT_TRUE(shown) << screen;
    EXPECT_TRUE(row_shows(screen, "web.0", "ready") && row_shows(screen, "worker.0", "ready")) << screen;
    const nlohmann::json after = status();
    EXPECT_EQ(after["instances"][1]["name"], "web.1");
    EXPECT_EQ(after["instances"][1]["state"], "stopped");
    EXPECT_EQ(after["instances"][0]["state"], "ready");

    // The log view of crash.0 (the last row), following it; leaving it closes the file.
    const pid_t top_process = top_pid(tmux);
    ASSERT_NE(top_process, 0);
    const std::size_t fds_in_table = brood::testing::fd_count(top_process);
    tmux.keys({"G", "l"});
    std::tie(shown, screen) = tmux.wait_for([](const std::string& s) {
        return s.find("log of crash.0") != std::string::npos && s.find("\ncrashing\n") != std::string::npos;
    });
    EXPECT_TRUE(shown) << screen;
    EXPECT_EQ(brood::testing::fd_count(top_process), fds_in_table + 1);  // the log file
    tmux.keys({"q"});
    std::tie(shown, screen) = tmux.wait_for([](const std::string& s) {
        return row_shows(s, "web.1", "stopped") && s.find("log of") == std::string::npos;
    });
    EXPECT_TRUE(shown) << screen;
    EXPECT_EQ(brood::testing::fd_count(top_process), fds_in_table);

    // A filter on the name: only web's rows; Esc clears it.
    tmux.keys({"/", "w", "e", "b", "Enter"});
    std::tie(shown, screen) = tmux.wait_for([](const std::string& s) {
        return s.find("filter: web (2 shown)") != std::string::npos && !row_of(s, "web.0").empty() &&
               !row_of(s, "web.1").empty() && row_of(s, "worker.0").empty() && row_of(s, "crash.0").empty();
    });
    EXPECT_TRUE(shown) << screen;
    tmux.keys({"Escape"});
    std::tie(shown, screen) = tmux.wait_for([](const std::string& s) {
        return s.find("filter:") == std::string::npos && !row_of(s, "worker.0").empty() && !row_of(s, "crash.0").empty();
    });
    EXPECT_TRUE(shown) << screen;
    // ? shows the keys; any key closes them.
    tmux.keys({"?"});
    // The box comes in more than one write: a capture may hold its title and not its lines yet.
    std::tie(shown, screen) = tmux.wait_for([](const std::string& s) {
        return s.find("brood top: keys") != std::string::npos && s.find("S              stop it") != std::string::npos;
    });
    EXPECT_TRUE(shown) << screen;
    tmux.keys({"x"});
    std::tie(shown, screen) = tmux.wait_for([](const std::string& s) { return s.find("brood top: keys") == std::string::npos; });
    EXPECT_TRUE(shown) << screen;

    // Smaller: tmux crops what was drawn; top redraws for the new size, its keys on the last line.
    tmux.resize(60, 12);
    std::tie(shown, screen) = tmux.wait_for([](const std::string& s) {
        return last_line(s, 12).rfind("q quit", 0) == 0 && !row_of(s, "crash.0").empty();
    });
    EXPECT_TRUE(shown) << screen;
    // Larger again: the last exits, cut at 60 columns, can only come back from a redraw.
    tmux.resize(120, 30);
    std::tie(shown, screen) = tmux.wait_for([](const std::string& s) {
        return last_line(s, 30).rfind("q quit", 0) == 0 && row_shows(s, "crash.0", "exited with code 3") &&
               row_shows(s, "web.1", "killed by SIGTERM");
    });
    EXPECT_TRUE(shown) << screen;

    // q: the shell's screen comes back, as it was, with no trace of the table.
    tmux.keys({"q"});
    expect_shell_back(tmux, 0);
}

TEST_F(top, no_color_draws_without_colours_and_interrupt_and_term_restore_the_terminal) {
    tmux_session tmux(100, 24);
    auto [shown, screen] = start_top(tmux, "NO_COLOR=1 TERM=xterm");
    ASSERT_TRUE(shown) << screen;
    const std::string plain = tmux.screen(true);
    for (const char* colour : {"\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[35m", "\x1b[36m"})
        EXPECT_EQ(plain.find(colour), std::string::npos) << plain;

    tmux.keys({"C-c"});
    expect_shell_back(tmux, 130);

    // And SIGTERM, from outside.
    tmux.type_line("clear");  // the last top-exit= off the screen
    std::tie(shown, screen) = start_top(tmux);
    ASSERT_TRUE(shown) << screen;
    const pid_t top_process = top_pid(tmux);
    ASSERT_NE(top_process, 0);
    ASSERT_EQ(::kill(top_process, SIGTERM), 0);
    expect_shell_back(tmux, 143);
}

TEST_F(top, the_supervisor_ending_ends_top_with_the_terminal_restored) {
    tmux_session tmux(100, 24);
    auto [shown, screen] = start_top(tmux, "TERM=screen");
    ASSERT_TRUE(shown) << screen;

    ASSERT_TRUE(brood_->signal(SIGKILL));
    EXPECT_EQ(brood_->wait(), (brood::killed{SIGKILL, false}));
    ended_ = true;
    screen = expect_shell_back(tmux, 1);
    EXPECT_NE(screen.find("brood: the supervisor closed the connection"), std::string::npos) << screen;
}

}  // namespace
