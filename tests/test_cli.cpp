// The brood command, driven from outside as a user (or a container runtime) would: every promise
// of brood run, watch and tree, with exact helper programs from tests/helpers (cli_*.c).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <brood/brood.hpp>

#include "support/leak_check.hpp"
#include "support/process_state.hpp"
#include "support/running_brood.hpp"

namespace {

using namespace std::chrono_literals;
using brood::testing::helper;
using clock_type = std::chrono::steady_clock;

using brood::testing::brood_path;
using brood::testing::deadline;
using brood::testing::line_reader;
using brood::testing::running_brood;

std::vector<std::string> with_brood(std::vector<std::string> args) {
    args.insert(args.begin(), brood_path());
    return args;
}

brood::command brood_command(const std::vector<std::string>& args) {
    brood::command c(brood_path());
    c.args(args);
    return c;
}

// "TIME PID started: ..." -> PID.
pid_t pid_of_event(const std::string& line) {
    const std::size_t space = line.find(' ');
    return space == std::string::npos ? 0 : static_cast<pid_t>(std::atoi(line.c_str() + space + 1));
}

// A file that exists but may not be executed.
class data_file {
public:
    data_file() : path_(std::filesystem::temp_directory_path() / ("brood-cli-" + std::to_string(::getpid()))) {
        std::ofstream(path_) << "#!/bin/sh\nexit 0\n";
        std::filesystem::permissions(path_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    }
    ~data_file() { std::filesystem::remove(path_); }
    std::string path() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

struct named_signal {
    int number;
    const char* name;
};

// ---------------------------------------------------------------------------------------------
// brood --help, usage errors

TEST(cli, help_explains_every_command_and_option_with_examples) {
    const auto top = brood_command({"--help"}).output();
    EXPECT_EQ(top.status, brood::wait_status(brood::exited{0}));
    for (const char* word : {"run", "watch", "tree", "Examples"}) EXPECT_NE(top.out.find(word), std::string::npos) << word;

    const auto run = brood_command({"run", "--help"}).output();
    EXPECT_EQ(run.status, brood::wait_status(brood::exited{0}));
    for (const char* word : {"--group", "--no-subreaper", "--grace", "--pdeathsig", "--events", "--remap-exit", "Examples"})
        EXPECT_NE(run.out.find(word), std::string::npos) << word;
    const auto watch = brood_command({"watch", "--help"}).output();
    for (const char* word : {"--json", "--tree", "Examples"}) EXPECT_NE(watch.out.find(word), std::string::npos) << word;
    const auto tree = brood_command({"tree", "--help"}).output();
    for (const char* word : {"--all", "--json", "COW", "Examples"}) EXPECT_NE(tree.out.find(word), std::string::npos) << word;
}

TEST(cli, usage_errors_exit_2) {
    const std::vector<std::vector<std::string>> wrong = {
        {},
        {"bogus"},
        {"run"},
        {"run", "--grace", "soon", "--", "true"},
        {"run", "--pdeathsig", "SIGNOPE", "--", "true"},
        {"run", "--remap-exit", "3", "--", "true"},
        {"watch"},
        {"tree", "--all", "1"},
    };
    for (const auto& args : wrong) {
        const auto r = brood_command(args).output();
        EXPECT_EQ(r.status, brood::wait_status(brood::exited{2})) << ::testing::PrintToString(args);
        EXPECT_FALSE(r.err.empty()) << ::testing::PrintToString(args);
    }
}

// run and watch read their options from a table (common/option_table.cpp): each mistake is named.
TEST(cli, run_and_watch_usage_errors_name_what_was_wrong) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> wrong = {
        {{"run"}, "PROGRAM is required"},
        {{"run", "--grace"}, "--grace: needs a value"},
        {{"run", "--grace", "1s", "--grace", "2s", "--", "true"}, "--grace: given more than once"},
        {{"run", "--grace", "soon", "--", "true"}, "--grace: not a duration"},
        {{"run", "--pdeathsig", "NOPE", "--", "true"}, "--pdeathsig: not a signal"},
        {{"run", "--remap-exit", "3:0", "--remap-exit", "300:0", "--", "true"}, "--remap-exit: expected N:M"},
        {{"run", "--gr", "1s", "--", "true"}, "not expected: --gr"},  // no abbreviations
        {{"run", "--bogus", "--", "true"}, "not expected: --bogus"},
        {{"run", "-gx", "--", "true"}, "not expected: -x"},
        {{"run", "--group=yes", "--", "true"}, "--group: takes no value"},
        {{"watch", "--json", "--tree", "--grace", "x", "--", "true"}, "--grace: not a duration"},
        {{"watch", "--events", "--", "true"}, "not expected: --events"},
    };
    for (const auto& [args, message] : wrong) {
        const auto r = brood_command(args).output();
        EXPECT_EQ(r.status, brood::wait_status(brood::exited{2})) << ::testing::PrintToString(args);
        EXPECT_NE(r.err.find(message), std::string::npos) << ::testing::PrintToString(args) << ": " << r.err;
        EXPECT_NE(r.err.find("Run with --help"), std::string::npos) << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
    }
}

// Options end at "--" or at PROGRAM: what follows is PROGRAM's, even when it looks like brood's.
TEST(cli, run_options_end_at_the_program) {
    EXPECT_EQ(brood_command({"run", "--grace=1s", "-g", "--remap-exit", "3:0", "--remap-exit", "4:9", "--",
                             helper("exit_code"), "4"})
                  .run(),
              brood::wait_status(brood::exited{9}));
    // The shell exits with the number of arguments it was given: brood's options, passed on.
    const auto after_program = brood_command({"run", "/bin/sh", "-c", "exit $#", "sh", "--grace", "-g", "--help"}).output();
    EXPECT_EQ(after_program.status, brood::wait_status(brood::exited{3}));
    EXPECT_TRUE(after_program.out.empty()) << after_program.out;
}

// ---------------------------------------------------------------------------------------------
// brood run: exit status

// Sanitized builds start each process a hundred times slower (brood and the helper, ~0.3 s); there
// the sweep takes the edges and a few codes between. The path is the same for every code; plain
// builds sweep all 256.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif

TEST(cli_run, exit_code_of_the_program_for_every_code_0_to_255) {
    std::vector<int> codes;
    if (sanitized) {
        codes = {0, 1, 2, 3, 42, 64, 125, 126, 127, 128, 129, 143, 200, 254, 255};
    } else {
        for (int code = 0; code < 256; ++code) codes.push_back(code);
    }
    // Many broods at once: the sweep stays quick.
    constexpr std::size_t batch = 32;
    for (std::size_t first = 0; first < codes.size(); first += batch) {
        std::vector<std::pair<int, brood::child>> runs;
        for (std::size_t i = first; i < std::min(first + batch, codes.size()); ++i)
            runs.emplace_back(codes[i], brood_command({"run", "--", helper("exit_code"), std::to_string(codes[i])}).spawn());
        for (auto& [code, run] : runs) EXPECT_EQ(run.wait(), brood::wait_status(brood::exited{code}));
    }
}

TEST(cli_run, killed_program_gives_128_plus_the_signal) {
    const named_signal signals[] = {{SIGHUP, "HUP"},   {SIGINT, "INT"},   {SIGQUIT, "QUIT"}, {SIGILL, "ILL"},
                                    {SIGABRT, "ABRT"}, {SIGFPE, "FPE"},   {SIGKILL, "KILL"}, {SIGSEGV, "SEGV"},
                                    {SIGUSR1, "USR1"}, {SIGUSR2, "USR2"}, {SIGPIPE, "PIPE"}, {SIGALRM, "ALRM"},
                                    {SIGTERM, "TERM"}, {SIGBUS, "BUS"}};
    for (const named_signal& s : signals) {
        const auto status = brood_command({"run", "--", helper("cli_raise"), std::to_string(s.number)}).run();
        EXPECT_EQ(status, brood::wait_status(brood::exited{128 + s.number})) << s.name;
    }
}

TEST(cli_run, remap_exit_changes_one_code) {
    EXPECT_EQ(brood_command({"run", "--remap-exit", "3:0", "--", helper("exit_code"), "3"}).run(),
              brood::wait_status(brood::exited{0}));
    EXPECT_EQ(brood_command({"run", "--remap-exit", "3:0", "--", helper("exit_code"), "4"}).run(),
              brood::wait_status(brood::exited{4}));
    EXPECT_EQ(brood_command({"run", "--remap-exit", "143:0", "--", helper("cli_raise"), std::to_string(SIGTERM)}).run(),
              brood::wait_status(brood::exited{0}));
}

TEST(cli_run, program_not_found_exits_127_with_one_line_naming_it) {
    const auto absolute = brood_command({"run", "--", "/no/such/program"}).output();
    EXPECT_EQ(absolute.status, brood::wait_status(brood::exited{127}));
    EXPECT_EQ(absolute.err, "brood: /no/such/program: not found\n");

    const auto in_path = brood_command({"run", "--", "brood-no-such-program"}).output();
    EXPECT_EQ(in_path.status, brood::wait_status(brood::exited{127}));
    EXPECT_EQ(in_path.err, "brood: brood-no-such-program: not found\n");
}

TEST(cli_run, program_not_executable_exits_126) {
    const data_file file;
    const auto plain = brood_command({"run", "--", file.path()}).output();
    EXPECT_EQ(plain.status, brood::wait_status(brood::exited{126}));
    EXPECT_EQ(plain.err, "brood: " + file.path() + ": permission denied\n");

    const auto directory = brood_command({"run", "--", "/"}).output();
    EXPECT_EQ(directory.status, brood::wait_status(brood::exited{126}));
    EXPECT_EQ(directory.err, "brood: /: permission denied\n");
}

// ---------------------------------------------------------------------------------------------
// brood run: signals

TEST(cli_run, program_that_traps_term_and_exits_42_makes_brood_exit_42) {
    running_brood b(with_brood({"run", "--", helper("cli_trap"), std::to_string(SIGTERM), "42"}));
    ASSERT_TRUE(b.out().until("ready"));
    b.signal(SIGTERM);
    EXPECT_EQ(b.wait(), brood::wait_status(brood::exited{42}));
}

TEST(cli_run, forwards_every_common_signal) {
    const named_signal signals[] = {{SIGHUP, "HUP"},   {SIGINT, "INT"},   {SIGQUIT, "QUIT"},   {SIGUSR1, "USR1"},
                                    {SIGUSR2, "USR2"}, {SIGTERM, "TERM"}, {SIGWINCH, "WINCH"}, {SIGCONT, "CONT"},
                                    {SIGTSTP, "TSTP"}, {SIGTTIN, "TTIN"}, {SIGTTOU, "TTOU"},   {SIGALRM, "ALRM"},
                                    {SIGPIPE, "PIPE"}, {SIGRTMIN + 2, "RTMIN+2"}};
    int code = 100;
    for (const named_signal& s : signals) {
        running_brood b(with_brood({"run", "--", helper("cli_trap"), std::to_string(s.number), std::to_string(code)}));
        ASSERT_TRUE(b.out().until("ready")) << s.name;
        b.signal(s.number);
        EXPECT_EQ(b.wait(), brood::wait_status(brood::exited{code})) << s.name;
        ++code;
    }
}

TEST(cli_run, group_flag_reaches_a_grandchild) {
    running_brood b(with_brood({"run", "-g", "--", helper("cli_group")}));
    ASSERT_TRUE(b.out().until("ready"));
    b.signal(SIGTERM);
    // cli_group exits with its child's code: 42 only if the grandchild got SIGTERM too.
    EXPECT_EQ(b.wait(), brood::wait_status(brood::exited{42}));
}

TEST(cli_run, sigterm_after_the_program_has_exited_does_no_harm) {
    // The program exits 7 and leaves a child that ignores SIGTERM, so brood is still there,
    // waiting out --grace, when its own SIGTERM arrives.
    running_brood b(with_brood({"run", "--events", "--grace", "300ms", "--", helper("cli_leave_behind"), "ignore", "7"}));
    ASSERT_TRUE(b.err().until("exited with code 7"));
    EXPECT_TRUE(b.signal(SIGTERM));
    EXPECT_EQ(b.wait(), brood::wait_status(brood::exited{7}));
}

TEST(cli_run, pdeathsig_reaches_the_program_when_brood_dies) {
    // In a forked subreaper, so that the orphaned program comes back to be waited for.
    brood::child tester = brood::fork([] {
        brood::become_subreaper();
        running_brood b(with_brood({"run", "--pdeathsig", "USR1", "--", helper("cli_trap"), std::to_string(SIGUSR1), "77"}));
        if (!b.out().until("ready")) return 1;
        const std::vector<pid_t> program = brood::proc::children_of(b.pid());
        if (program.size() != 1) return 2;
        b.signal(SIGKILL);
        b.wait();
        int status = 0;
        if (::waitpid(program[0], &status, 0) != program[0]) return 3;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 4;
    });
    EXPECT_EQ(tester.wait(), brood::wait_status(brood::exited{77}));
}

// ---------------------------------------------------------------------------------------------
// brood run: reaping and what is left behind

TEST(cli_run, reaps_an_orphaned_grandchild) {
    // cli_orphan double-forks; its grandchild dies as an orphan adopted by brood, and cli_orphan
    // exits 0 only when the grandchild's pidfd reports it reaped (POLLHUP).
    running_brood b(with_brood({"run", "--events", "--", helper("cli_orphan")}));
    const auto grandchild = b.out().next(deadline);
    ASSERT_TRUE(grandchild);
    EXPECT_EQ(b.wait(), brood::wait_status(brood::exited{0}));
    const auto events = b.err().rest();
    EXPECT_TRUE(std::any_of(events.begin(), events.end(), [&](const std::string& line) {
        return line.find(" " + *grandchild + " exited with code 0 (orphan, reaped by brood)") != std::string::npos;
    })) << ::testing::PrintToString(events);
}

TEST(cli_run, reaps_a_storm_of_orphaned_zombies) {
    const auto r = brood_command({"run", "--", helper("cli_zombie_storm"), "500"}).output();
    EXPECT_EQ(r.status, brood::wait_status(brood::exited{0})) << r.out << r.err;
    EXPECT_NE(r.out.find("left=0"), std::string::npos) << r.out;
}

TEST(cli_run, leftovers_get_sigterm_when_the_program_exits) {
    running_brood b(with_brood({"run", "--events", "--", helper("cli_leave_behind"), "default", "3"}));
    EXPECT_EQ(b.wait(), brood::wait_status(brood::exited{3}));
    const auto events = b.err().rest();
    EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const std::string& line) {
        return line.find("killed by SIGTERM (orphan, reaped by brood)") != std::string::npos;
    })) << ::testing::PrintToString(events);
}

TEST(cli_run, leftovers_that_ignore_sigterm_get_sigkill_after_grace) {
    const auto start = clock_type::now();
    running_brood b(with_brood({"run", "--events", "--grace", "200ms", "--", helper("cli_leave_behind"), "ignore", "0"}));
    EXPECT_EQ(b.wait(), brood::wait_status(brood::exited{0}));
    EXPECT_GE(clock_type::now() - start, 200ms);
    const auto events = b.err().rest();
    EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const std::string& line) {
        return line.find("killed by SIGKILL (orphan, reaped by brood)") != std::string::npos;
    })) << ::testing::PrintToString(events);
}

// ---------------------------------------------------------------------------------------------
// brood run as PID 1 of a PID namespace

class cli_pid1 : public ::testing::Test {
protected:
    void SetUp() override {
        const auto probe = brood::command("unshare").args(std::vector<std::string>{"--pid", "--fork", "--mount-proc", "true"}).output();
        if (!probe.status.success())
            GTEST_SKIP() << "unshare --pid --fork --mount-proc is refused here (" << probe.status.to_string()
                         << "): " << probe.err;
    }
    // unshare ... brood ARGS: the whole command line, and as a command to run.
    static std::vector<std::string> in_namespace(std::vector<std::string> args) {
        args = with_brood(std::move(args));
        args.insert(args.begin(), {"unshare", "--pid", "--fork", "--mount-proc"});
        return args;
    }
    static brood::command namespaced(std::vector<std::string> args) {
        const std::vector<std::string> argv = in_namespace(std::move(args));
        brood::command c(argv.front());
        c.args(std::vector<std::string>(argv.begin() + 1, argv.end()));
        return c;
    }
};

TEST_F(cli_pid1, exit_codes_and_signals_as_outside) {
    EXPECT_EQ(namespaced({"run", "--", helper("exit_code"), "3"}).run(),
              brood::wait_status(brood::exited{3}));
    const auto killed = namespaced({"run", "--", helper("cli_raise"), "15"}).run();
    EXPECT_EQ(killed, brood::wait_status(brood::exited{143}));
    const auto missing = namespaced({"run", "--", "/no/such/program"}).output();
    EXPECT_EQ(missing.status, brood::wait_status(brood::exited{127}));
    EXPECT_EQ(missing.err, "brood: /no/such/program: not found\n");
}

TEST_F(cli_pid1, is_pid_1_and_forwards_sigterm) {
    running_brood u(in_namespace({"run", "--", helper("cli_trap"), std::to_string(SIGTERM), "42"}));
    ASSERT_TRUE(u.out().until("ready"));
    const std::vector<pid_t> init = brood::proc::children_of(u.pid());  // brood, PID 1 inside
    ASSERT_EQ(init.size(), 1u);
    const auto info = brood::proc::read_process(init[0]);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->comm, "brood");
    ASSERT_EQ(::kill(init[0], SIGTERM), 0);
    EXPECT_EQ(u.wait(), brood::wait_status(brood::exited{42}));
}

TEST_F(cli_pid1, reaps_orphans_and_zombie_storms) {
    EXPECT_EQ(namespaced({"run", "--", helper("cli_orphan")}).set_stdout(brood::stdio::null()).run(),
              brood::wait_status(brood::exited{0}));
    const auto storm = namespaced({"run", "--", helper("cli_zombie_storm"), "300"}).output();
    EXPECT_EQ(storm.status, brood::wait_status(brood::exited{0})) << storm.out << storm.err;
    EXPECT_NE(storm.out.find("left=0"), std::string::npos) << storm.out;
}

TEST_F(cli_pid1, group_flag_reaches_a_grandchild) {
    running_brood u(in_namespace({"run", "-g", "--", helper("cli_group")}));
    ASSERT_TRUE(u.out().until("ready"));
    const std::vector<pid_t> init = brood::proc::children_of(u.pid());
    ASSERT_EQ(init.size(), 1u);
    ASSERT_EQ(::kill(init[0], SIGTERM), 0);
    EXPECT_EQ(u.wait(), brood::wait_status(brood::exited{42}));
}

// ---------------------------------------------------------------------------------------------
// brood watch

TEST(cli_watch, sees_stop_and_continue_sent_from_outside_within_milliseconds) {
    running_brood b(with_brood({"watch", "--", helper("pause"), "ready"}));
    const auto started = b.out().until("started:");
    ASSERT_TRUE(started);
    const pid_t program = pid_of_event(*started);
    ASSERT_GT(program, 0);
    ASSERT_TRUE(b.out().seen_or_until("ready"));

    const auto stop_sent = clock_type::now();
    ASSERT_EQ(::kill(program, SIGSTOP), 0);
    const auto stopped = b.out().until("stopped by SIGSTOP");
    const auto latency = clock_type::now() - stop_sent;
    ASSERT_TRUE(stopped);
    EXPECT_EQ(pid_of_event(*stopped), program);
    std::printf("brood watch printed the stop %.2f ms after kill(SIGSTOP)\n",
                std::chrono::duration<double, std::milli>(latency).count());
    EXPECT_LT(latency, 1s);  // milliseconds in practice; the bound allows for sanitizers under load

    ASSERT_EQ(::kill(program, SIGCONT), 0);
    const auto continued = b.out().until("continued");
    ASSERT_TRUE(continued);
    EXPECT_EQ(pid_of_event(*continued), program);

    ASSERT_EQ(::kill(program, SIGTERM), 0);
    EXPECT_TRUE(b.out().until("killed by SIGTERM"));
    EXPECT_EQ(b.wait(), brood::wait_status(brood::exited{128 + SIGTERM}));
}

TEST(cli_watch, json_lines) {
    running_brood b(with_brood({"watch", "--json", "--", helper("pause"), "ready"}));
    const auto first = b.out().until("\"started\"");
    ASSERT_TRUE(first);
    const auto started = nlohmann::json::parse(*first);
    EXPECT_TRUE(started["time"].is_string());
    EXPECT_EQ(started["command"][0], helper("pause"));
    const pid_t program = started["pid"].get<pid_t>();
    ASSERT_TRUE(b.out().seen_or_until("ready"));
    ASSERT_EQ(::kill(program, SIGSTOP), 0);
    const auto stopped_line = b.out().until("\"stopped\"");
    ASSERT_TRUE(stopped_line);
    const auto stopped = nlohmann::json::parse(*stopped_line);
    EXPECT_EQ(stopped["pid"], program);
    EXPECT_EQ(stopped["event"], "stopped");
    EXPECT_EQ(stopped["signal"], "SIGSTOP");
    ASSERT_EQ(::kill(program, SIGKILL), 0);
    const auto killed_line = b.out().until("\"killed\"");
    ASSERT_TRUE(killed_line);
    const auto killed = nlohmann::json::parse(*killed_line);
    EXPECT_EQ(killed["signal"], "SIGKILL");
    EXPECT_EQ(b.wait(), brood::wait_status(brood::exited{128 + SIGKILL}));
}

TEST(cli_watch, exits_with_the_program_status) {
    EXPECT_EQ(brood_command({"watch", "--", helper("exit_code"), "5"}).set_stdout(brood::stdio::null()).run(),
              brood::wait_status(brood::exited{5}));
    const auto missing = brood_command({"watch", "--", "/no/such/program"}).output();
    EXPECT_EQ(missing.status, brood::wait_status(brood::exited{127}));
    EXPECT_EQ(missing.err, "brood: /no/such/program: not found\n");
}

TEST(cli_watch, tree_sees_a_grandchild_exit_while_its_parent_lives) {
    // sh waits for its child (exit_code 3): the grandchild's exit is not an orphan's, so only the
    // kernel's process events tell brood about it.
    running_brood b(with_brood({"watch", "--json", "--tree", "--", "/bin/sh", "-c", "\"$0\" 3; exit 0", helper("exit_code")}));
    EXPECT_EQ(b.wait(), brood::wait_status(brood::exited{0}));
    const auto errors = b.err().rest();
    if (!errors.empty() && errors.front().find("not available") != std::string::npos)
        GTEST_SKIP() << "no proc connector here: " << errors.front();
    const auto lines = b.out().rest();
    ASSERT_FALSE(lines.empty());
    const pid_t sh = nlohmann::json::parse(lines.front())["pid"].get<pid_t>();
    // The grandchild is the process sh started; sanitizer runtimes may start helper processes of
    // their own under it, which brood rightly reports too.
    std::optional<nlohmann::json> grandchild_exit;
    for (const std::string& line : lines) {
        const auto e = nlohmann::json::parse(line);
        if (e["event"] == "exited" && e.contains("parent") && e["parent"] == sh) grandchild_exit = e;
    }
    ASSERT_TRUE(grandchild_exit) << ::testing::PrintToString(lines);
    EXPECT_EQ((*grandchild_exit)["code"], 3) << grandchild_exit->dump();
}

TEST(cli_watch, tree_reports_an_orphaned_grandchild) {
    running_brood b(with_brood({"watch", "--tree", "--", helper("cli_orphan")}));
    const auto started = b.out().until("started:");
    ASSERT_TRUE(started);
    EXPECT_EQ(b.wait(), brood::wait_status(brood::exited{0}));
    const auto lines = b.out().rest();
    // cli_orphan prints the grandchild's pid alone on a line; brood reports that pid's exit.
    std::string grandchild;
    for (const std::string& line : lines)
        if (!line.empty() && line.find(' ') == std::string::npos) grandchild = line;
    ASSERT_FALSE(grandchild.empty()) << ::testing::PrintToString(lines);
    EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [&](const std::string& line) {
        return line.find(" " + grandchild + " exited with code 0") != std::string::npos;
    })) << ::testing::PrintToString(lines);
}

// ---------------------------------------------------------------------------------------------
// brood tree

// Waits until pid has exited, leaving it a zombie.
void wait_until_zombie(pid_t pid) {
    siginfo_t info{};
    while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) == -1 && errno == EINTR) {
    }
}

const nlohmann::json* find_pid(const nlohmann::json& nodes, pid_t pid) {
    for (const auto& node : nodes) {
        if (node["pid"] == pid) return &node;
        if (const auto* found = find_pid(node["children"], pid)) return found;
    }
    return nullptr;
}

TEST(cli_tree, shows_children_with_state_memory_and_zombies) {
    brood::child sleeper = brood::command(helper("pause")).arg("ready").set_stdout(brood::stdio::pipe()).spawn();
    line_reader sleeper_out(std::move(sleeper.stdout_pipe()));
    ASSERT_TRUE(sleeper_out.until("ready"));
    // Having printed "ready", it may still be on its way into pause().
    ASSERT_EQ(brood::testing::state_within_deadline(sleeper.pid(), 'S'), 'S');
    brood::child zombie = brood::fork([] { return 0; });
    wait_until_zombie(zombie.pid());

    const auto r = brood_command({"tree", std::to_string(::getpid()), "--json"}).output();
    ASSERT_EQ(r.status, brood::wait_status(brood::exited{0})) << r.err;
    const auto roots = nlohmann::json::parse(r.out);
    ASSERT_EQ(roots.size(), 1u);
    const auto& self = roots[0];
    EXPECT_EQ(self["pid"], ::getpid());
    EXPECT_EQ(self["zombie_children"], 1);
    EXPECT_GT(self["rss"].get<std::uint64_t>(), 0u);
    EXPECT_GT(self["pss"].get<std::uint64_t>(), 0u);

    const auto* s = find_pid(roots, sleeper.pid());
    ASSERT_NE(s, nullptr);
    EXPECT_EQ((*s)["state"], "sleeping");
    EXPECT_EQ((*s)["ppid"], ::getpid());
    EXPECT_EQ((*s)["command"][1], "ready");
    const auto* z = find_pid(roots, zombie.pid());
    ASSERT_NE(z, nullptr);
    EXPECT_EQ((*z)["state"], "zombie");
    EXPECT_TRUE((*z)["zombie"].get<bool>());
    EXPECT_TRUE((*z)["rss"].is_null());

    const auto text = brood_command({"tree", std::to_string(::getpid())}).output();
    EXPECT_NE(text.out.find("Z! ZOMBIE"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("1 zombie child(ren) not reaped"), std::string::npos) << text.out;

    zombie.wait();
    sleeper.terminate(5s);
}

TEST(cli_tree, measures_memory_shared_copy_on_write_with_the_parent) {
    // 16 MiB written by this process, then a child that writes only the first half of it.
    constexpr std::size_t size = 16 << 20;
    std::vector<char> memory(size);
    for (std::size_t i = 0; i < size; i += 4096) memory[i] = 1;
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    brood::unique_fd read_end(ready[0]), write_end(ready[1]);
    brood::child kid = brood::fork([&] {
        read_end.reset();
        for (std::size_t i = 0; i < size / 2; i += 4096) memory[i] = 2;
        write_end.reset();  // end of file: written
        for (;;) ::pause();
    });
    write_end.reset();
    char byte;
    EXPECT_EQ(::read(read_end.get(), &byte, 1), 0);

    const auto r = brood_command({"tree", std::to_string(kid.pid()), "--json"}).output();
    ASSERT_EQ(r.status, brood::wait_status(brood::exited{0})) << r.err;
    const auto node = nlohmann::json::parse(r.out)[0];
    ASSERT_FALSE(node["cow_shared_with_parent"].is_null()) << r.out;
    const auto shared = node["cow_shared_with_parent"].get<std::uint64_t>();
    // The untouched half at least; the rest of what is shared is the test program's own memory.
    EXPECT_GE(shared, size / 2 - (256u << 10)) << r.out;
    if (::geteuid() == 0) {
        EXPECT_TRUE(node["cow_exact"].get<bool>());
    }
    kid.kill();
    kid.wait();
}

TEST(cli_tree, unknown_pid_and_all) {
    const auto missing = brood_command({"tree", "999999999"}).output();
    EXPECT_EQ(missing.status, brood::wait_status(brood::exited{1}));
    EXPECT_EQ(missing.err, "brood tree: no process 999999999\n");

    const auto all = brood_command({"tree", "--all", "--json"}).output();
    ASSERT_EQ(all.status, brood::wait_status(brood::exited{0})) << all.err;
    EXPECT_NE(find_pid(nlohmann::json::parse(all.out), ::getpid()), nullptr);
}

}  // namespace
