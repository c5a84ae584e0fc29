// brood as PID 1 of a real container: an OCI bundle run by runc, the runtime that containerd and
// CRI-O drive, with a root filesystem of busybox-static and this build's brood.
//
// Each test builds a bundle in a temporary directory (runc spec's config.json, edited), runs it
// with a private runc state directory, and removes the container in every path. They need root
// and runc; without them they skip and say why, unless BROOD_REQUIRE_CONTAINERS=1 (set by CI),
// which turns the skip into a failure: CI must run them.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <brood/command.hpp>
#include <brood/fork.hpp>
#include <brood/signal.hpp>

#include "support/leak_check.hpp"
#include "support/sanitizers.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

const fs::path brood_binary = fs::path(BROOD_TOOLS_DIR) / "brood";
const fs::path busybox = "/bin/busybox";

std::string read_file(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// Why containers cannot run here, or empty when they can.
std::string why_no_runtime() {
    if (::geteuid() != 0) return "runc needs root";
    const auto runc = brood::command("runc").arg("--version").set_stdout(brood::stdio::null())
                          .set_stderr(brood::stdio::null());
    try {
        if (runc.output().status != brood::exited{0}) return "runc --version failed";
    } catch (const std::exception& e) {
        return std::string("no runc: ") + e.what();
    }
    if (!fs::exists(busybox)) return "no " + busybox.string() + " (Debian's busybox-static)";
    return {};
}

// The shared libraries a dynamic binary loads, from ldd: a sanitizer build of brood is dynamic.
std::vector<fs::path> shared_libraries(const fs::path& binary) {
    const auto r = brood::command("ldd").arg(binary.string()).output();
    std::vector<fs::path> libs;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::vector<std::string> w;
        for (std::string word; words >> word;) w.push_back(word);
        for (const std::string& word : w)
            if (!word.empty() && word[0] == '/') {
                libs.emplace_back(word);
                break;
            }
    }
    return libs;
}

struct run_result {
    brood::wait_status status = brood::exited{0};
    std::string out, err;
};

// An OCI bundle with busybox and brood in its root filesystem.
class bundle {
public:
    bundle() : dir_("oci"), id_("brood-test-" + std::to_string(::getpid()) + "-" + std::to_string(next_serial())) {
        const fs::path rootfs = dir_.path() / "rootfs";
        for (const char* d : {"bin", "proc", "sys", "dev", "tmp", "etc"}) fs::create_directories(rootfs / d);
        fs::copy_file(busybox, rootfs / "bin/busybox");
        for (const char* tool : {"sh", "sleep", "ps", "cat", "echo", "true", "kill", "seq", "grep", "wc", "date", "mkfifo"})
            fs::create_symlink("busybox", rootfs / "bin" / tool);
        fs::copy_file(brood_binary, rootfs / "bin/brood");
        for (const fs::path& lib : shared_libraries(brood_binary)) {
            fs::create_directories(rootfs / lib.relative_path().parent_path());
            fs::copy_file(lib, rootfs / lib.relative_path(), fs::copy_options::overwrite_existing);
        }
        const auto spec = brood::command("runc").args(std::vector<std::string>{"spec", "--bundle", dir_.path().string()}).output();
        if (spec.status != brood::exited{0}) throw std::runtime_error("runc spec: " + spec.err);
        config_ = json::parse(read_file(dir_.path() / "config.json"));
        config_["process"]["terminal"] = false;
        config_["root"]["readonly"] = false;
        config_["process"]["env"] = json::array({"PATH=/bin", "TERM=dumb"});
    }
    ~bundle() {
        // Whatever state the test left it in: gone, with its cgroup.
        runc({"delete", "--force", id_}).output();
    }
    bundle(const bundle&) = delete;
    bundle& operator=(const bundle&) = delete;

    const std::string& id() const { return id_; }
    fs::path rootfs() const { return dir_.path() / "rootfs"; }
    json& config() { return config_; }
    void set_args(const std::vector<std::string>& args) { config_["process"]["args"] = args; }
    void write(const std::string& path_in_rootfs, const std::string& text) const {
        std::ofstream(rootfs() / path_in_rootfs) << text;
    }
    std::string read(const std::string& path_in_rootfs) const { return read_file(rootfs() / path_in_rootfs); }

    brood::command runc(const std::vector<std::string>& args) const {
        std::vector<std::string> all{"--root", (dir_.path() / "state").string()};
        all.insert(all.end(), args.begin(), args.end());
        return brood::command("runc").args(all);
    }

    // Runs the container to its end in the foreground.
    run_result run() {
        save();
        const auto r = runc({"run", "--bundle", dir_.path().string(), id_}).output();
        return {r.status, r.out, r.err};
    }

    // Starts the container in the background.
    brood::child launch(brood::stdio out, brood::stdio err) const {
        save();
        return runc({"run", "--bundle", dir_.path().string(), id_}).set_stdout(out).set_stderr(err).spawn();
    }

    // Starts the container in the background and returns once it has printed `marker` on stdout.
    brood::child start(const std::string& marker) {
        brood::child c = launch(brood::stdio::pipe(), brood::stdio::pipe());
        std::string seen;
        char buffer[4096];
        while (seen.find(marker) == std::string::npos) {
            const ssize_t n = ::read(c.stdout_pipe().get(), buffer, sizeof buffer);
            if (n <= 0) break;
            seen.append(buffer, static_cast<std::size_t>(n));
        }
        started_output_ = seen;
        return c;
    }

    // brood up as the entrypoint, with toml as /brood.toml; returns once it printed marker.
    brood::child start_brood_up(const std::string& toml, const std::string& marker) {
        write("brood.toml", toml);
        config_["process"]["cwd"] = "/";
        set_args({"/bin/brood", "up", "-c", "/brood.toml"});
        return start(marker);
    }

    void kill(const std::string& signal) const {
        const auto r = runc({"kill", id_, signal}).output();
        EXPECT_EQ(r.status, brood::exited{0}) << "runc kill " << signal << ": " << r.err;
    }

    // Waits for a background container and collects the rest of its output. A container still
    // running 30 s later is a failure, and is killed so that the test ends.
    run_result finish(brood::child& c) const {
        run_result r;
        if (!c.wait_for(30s)) {
            ADD_FAILURE() << "the container did not end within 30 s";
            runc({"kill", id_, "KILL"}).output();
        }
        r.status = c.wait();
        r.out = started_output_ + brood::detail::read_all(c.stdout_pipe().get());
        r.err = brood::detail::read_all(c.stderr_pipe().get());
        return r;
    }

private:
    static int next_serial() {
        static int serial = 0;
        return ++serial;
    }
    void save() const { std::ofstream(dir_.path() / "config.json") << config_.dump(1); }

    brood::testing::temp_dir dir_;
    std::string id_;
    json config_;
    std::string started_output_;
};

class containers : public ::testing::Test {
protected:
    void SetUp() override {
        const std::string why = why_no_runtime();
        if (why.empty()) return;
        const char* required = std::getenv("BROOD_REQUIRE_CONTAINERS");
        if (required != nullptr && std::string(required) == "1")
            FAIL() << "container tests are required here (BROOD_REQUIRE_CONTAINERS=1) but cannot run: " << why;
        GTEST_SKIP() << "container tests skipped: " << why;
    }
};

std::vector<std::string> brood_run(const std::string& script, const std::vector<std::string>& options = {}) {
    std::vector<std::string> args{"/bin/brood", "run"};
    args.insert(args.end(), options.begin(), options.end());
    args.insert(args.end(), {"--", "sh", "-c", script});
    return args;
}

int shell_code(const brood::wait_status& status) { return status.code().value_or(-1); }

}  // namespace

// Every exit code 0-255 of the program comes out of `runc run`, four containers at a time.
TEST_F(containers, the_programs_exit_code_comes_out_of_runc_run_for_every_code) {
    if (brood::testing::under_asan || brood::testing::under_tsan)
        GTEST_SKIP() << "the sweep runs in the plain build; a sanitizer's brood is the same code, slower";
    constexpr int at_once = 4;
    std::vector<int> wrong;
    for (int first = 0; first < 256; first += at_once) {
        std::vector<std::unique_ptr<bundle>> bundles;
        std::vector<brood::child> running;
        for (int code = first; code < first + at_once; ++code) {
            bundles.push_back(std::make_unique<bundle>());
            bundles.back()->set_args(brood_run("exit " + std::to_string(code)));
            running.push_back(bundles.back()->launch(brood::stdio::null(), brood::stdio::inherit()));
        }
        for (int i = 0; i < at_once; ++i)
            if (running[static_cast<std::size_t>(i)].wait() != brood::exited{first + i}) wrong.push_back(first + i);
    }
    EXPECT_TRUE(wrong.empty()) << wrong.size() << " codes came out wrong, the first " << (wrong.empty() ? -1 : wrong[0]);
}

TEST_F(containers, a_program_killed_by_signal_n_gives_128_plus_n) {
    for (const char* name : {"HUP", "INT", "ABRT", "KILL", "USR1", "SEGV", "TERM"}) {
        bundle b;
        b.set_args(brood_run(std::string("kill -") + name + " $$"));
        const run_result r = b.run();
        const int signal = brood::signal_number(name);
        EXPECT_EQ(shell_code(r.status), 128 + signal) << name << ": " << r.err;
    }
}

TEST_F(containers, runc_kill_term_reaches_the_program_and_the_container_ends_with_its_status) {
    bundle b;
    b.set_args(brood_run("trap 'echo got TERM; exit 42' TERM; echo ready; while :; do sleep 0.05; done"));
    brood::child runc = b.start("ready");
    b.kill("TERM");
    const run_result r = b.finish(runc);
    EXPECT_EQ(r.status, brood::exited{42}) << r.err;
    EXPECT_NE(r.out.find("got TERM"), std::string::npos) << r.out;
}

TEST_F(containers, with_group_the_signal_reaches_the_programs_whole_group) {
    bundle b;
    // The program's child in its group writes that it got the signal; the program waits for it.
    b.set_args(brood_run("(trap 'echo child > /tmp/child-got-term; exit 0' TERM; while :; do sleep 0.05; done) & "
                         "trap 'wait; exit 9' TERM; echo ready; wait",
                         {"-g"}));
    brood::child runc = b.start("ready");
    b.kill("TERM");
    const run_result r = b.finish(runc);
    EXPECT_EQ(r.status, brood::exited{9}) << r.err;
    EXPECT_EQ(b.read("tmp/child-got-term"), "child\n") << "the group's other member got SIGTERM too";
}

TEST_F(containers, a_hundred_orphans_are_reaped_and_no_zombie_is_left) {
    bundle b;
    // Each orphan's parent (a subshell) exits at once, so PID 1 adopts the cat and must reap it. The
    // cats wait on a FIFO until the shell has counted them (a last one may still be on its way to
    // exec cat: counted again, at most 100 times), then all end together.
    b.set_args(brood_run("mkfifo /tmp/gate; for i in $(seq 100); do (cat /tmp/gate > /dev/null &); done; "
                         "for try in $(seq 100); do n=$(ps -o ppid,comm | grep -c '^ *1 cat'); "
                         "[ $n -ge 100 ] && break; sleep 0.02; done; echo $n > /tmp/adopted; "
                         ": > /tmp/gate; sleep 1; ps -o stat,comm > /tmp/after"));
    const run_result r = b.run();
    EXPECT_EQ(r.status, brood::exited{0}) << r.err;
    EXPECT_EQ(b.read("tmp/adopted"), "100\n") << "every sleeper was adopted by PID 1 (brood)";
    const std::string after = b.read("tmp/after");
    EXPECT_NE(after.find("brood"), std::string::npos) << "ps lists the container's processes: " << after;
    std::istringstream lines(after);
    int zombies = 0;
    for (std::string line; std::getline(lines, line);)
        if (line.find_first_not_of(' ') != std::string::npos && line[line.find_first_not_of(' ')] == 'Z') ++zombies;
    EXPECT_EQ(zombies, 0) << after;
}

TEST_F(containers, a_program_that_ignores_sigterm_is_killed_after_broods_grace) {
    bundle b;
    // It leaves a child that ignores SIGTERM too: that one gets no second grace of its own.
    b.set_args(brood_run("trap '' TERM; (trap '' TERM; while :; do sleep 0.05; done) & "
                         "echo ready; while :; do sleep 0.05; done",
                         {"--grace", "1s"}));
    brood::child runc = b.start("ready");
    const auto sent = std::chrono::steady_clock::now();
    b.kill("TERM");
    const run_result r = b.finish(runc);
    const auto took = std::chrono::steady_clock::now() - sent;
    EXPECT_EQ(shell_code(r.status), 128 + SIGKILL) << r.err;
    EXPECT_GE(took, 950ms);
    EXPECT_LT(took, 1900ms) << "ended by one --grace, not two";
}

TEST_F(containers, runc_kill_kill_ends_everything) {
    bundle b;
    b.set_args(brood_run("sleep 100 & (setsid sleep 100 &); echo ready; wait"));
    brood::child runc = b.start("ready");
    b.kill("KILL");
    const run_result r = b.finish(runc);
    EXPECT_EQ(shell_code(r.status), 128 + SIGKILL) << r.err;
    const auto state = b.runc({"state", b.id()}).output();
    EXPECT_NE(state.status, brood::exited{0}) << "the container is gone: " << state.out;
}

// brood up as the entrypoint: TERM stops the programs in reverse dependency order, and the container
// ends with the essential program's code.
TEST_F(containers, brood_up_as_entrypoint_stops_in_reverse_dependency_order_and_exits_with_the_essential_code) {
    bundle b;
    brood::child runc = b.start_brood_up(
            "[programs.db]\n"
            "shell = true\n"
            "command = \"trap 'echo db >> /tmp/order; exit 0' TERM; while :; do sleep 0.05; done\"\n"
            "[programs.app]\n"
            "shell = true\n"
            "command = \"trap 'echo app >> /tmp/order; exit 3' TERM; while :; do sleep 0.05; done\"\n"
            "depends_on = [\"db\"]\n"
            "essential = true\n"
            "[programs.cache]\n"
            "shell = true\n"
            "command = \"trap 'echo cache >> /tmp/order; exit 0' TERM; echo ready; while :; do sleep 0.05; done\"\n"
            "depends_on = [\"app\"]\n",
            "ready");
    b.kill("TERM");
    const run_result r = b.finish(runc);
    EXPECT_EQ(r.status, brood::exited{3}) << r.out << r.err;
    EXPECT_EQ(b.read("tmp/order"), "cache\napp\ndb\n");
}

TEST_F(containers, brood_up_without_writable_cgroups_keeps_working_and_says_so_once) {
    bundle b;
    // runc's default spec mounts /sys/fs/cgroup read-only: brood cannot make cgroups there.
    brood::child runc = b.start_brood_up(
            "[programs.one]\nshell = true\ncommand = \"echo ready-one; sleep 100\"\n"
            "[programs.two]\nshell = true\ncommand = \"echo ready-two; sleep 100\"\ninstances = 2\n",
            "ready-two");
    b.kill("TERM");
    const run_result r = b.finish(runc);
    EXPECT_EQ(r.status, brood::exited{0}) << r.out << r.err;
    const std::string all = r.out + r.err;
    std::size_t says = 0;
    for (std::size_t at = all.find("cgroup"); at != std::string::npos; at = all.find("cgroup", at + 1)) ++says;
    EXPECT_EQ(says, 1u) << "said once: " << all;
}

TEST_F(containers, brood_tree_inside_the_container_shows_the_containers_processes) {
    bundle b;
    b.set_args(brood_run("sleep 30 & sleep 0.1; brood tree 1 > /tmp/tree; kill $!"));
    const run_result r = b.run();
    EXPECT_EQ(r.status, brood::exited{0}) << r.err;
    const std::string tree = b.read("tmp/tree");
    EXPECT_NE(tree.find("brood run"), std::string::npos) << tree;
    EXPECT_NE(tree.find("sleep 30"), std::string::npos) << tree;
    EXPECT_NE(tree.find("brood tree 1"), std::string::npos) << tree;
}

// The kubelet sends SIGTERM, then SIGKILL after terminationGracePeriodSeconds: brood up's
// shutdown_timeout ends the shutdown first, with a code that says the budget ran out.
TEST_F(containers, brood_up_kills_what_is_left_when_its_shutdown_budget_runs_out_and_exits_124) {
    bundle b;
    brood::child runc = b.start_brood_up(
            "shutdown_timeout = \"600ms\"\n"
            "[programs.stubborn]\n"
            "shell = true\n"
            "command = \"trap '' TERM; echo ready; while :; do sleep 0.05; done\"\n"
            "stop_timeout = \"30s\"\n",
            "ready");
    const auto sent = std::chrono::steady_clock::now();
    b.kill("TERM");
    const run_result r = b.finish(runc);
    const auto took = std::chrono::steady_clock::now() - sent;
    EXPECT_EQ(r.status, brood::exited{124}) << r.out << r.err;
    EXPECT_GE(took, 550ms);
    EXPECT_LT(took, 5s) << "the budget, not the program's 30 s stop_timeout";
    EXPECT_NE(r.err.find("shutdown_timeout (600ms) spent"), std::string::npos) << r.err;
}
