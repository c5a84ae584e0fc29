// The supervisor's logs: log_file's size-based rotation (no line split, nothing lost, one rename
// per rotation), what it does when writes fail, the live prefix, and output_relay carrying a pipe's
// bytes to the log and the live output line by line, a bounded amount at a time.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <brood/monitor.hpp>
#include <brood/unique_fd.hpp>

#include "support/temp_dir.hpp"
#include "supervisor/live_prefix.hpp"
#include "supervisor/log_file.hpp"
#include "supervisor/output_relay.hpp"
#include "supervisor/pseudo_terminal.hpp"
#include "supervisor/log_line.hpp"
#include "supervisor/rotated_log.hpp"
#include "supervisor/stdout_queue.hpp"

using namespace brood::supervisor;
using brood::unique_fd;
using brood::testing::temp_dir;
namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Every file of a rotated log, oldest first, ending with the current one.
std::vector<fs::path> log_files(const fs::path& file) {
    std::vector<fs::path> files;
    for (const std::uint64_t seq : rotated_sequence(file)) files.push_back(rotated_path(file, seq));
    files.push_back(file);
    return files;
}

// The concatenation of every file of a rotated log, oldest first, after checking that each holds
// whole lines only and stays within max_size.
std::string read_rotated(const fs::path& file, std::uint64_t max_size) {
    std::string all;
    for (const auto& f : log_files(file)) {
        const std::string text = read_text(f);
        EXPECT_LE(text.size(), max_size) << f;
        EXPECT_TRUE(!text.empty() && text.back() == '\n') << f << " is empty or ends inside a line";
        all += text;
    }
    return all;
}

// Lines of varied length so that rotation falls at many different offsets.
std::vector<std::string> numbered_lines(int count) {
    std::vector<std::string> lines;
    for (int i = 0; i < count; ++i)
        lines.push_back("line " + std::to_string(i) + ' ' + std::string(static_cast<std::size_t>(i % 37), 'x') + '\n');
    return lines;
}

struct pipe_pair {
    unique_fd read;
    unique_fd write;
    pipe_pair() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
        read.reset(fds[0]);
        write.reset(fds[1]);
    }
};

void write_text(int fd, const std::string& text) {
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
}

// Drains until end of file, waiting for the pipe in between; the relay must report EOF eventually.
void drain_to_end(output_relay& relay) {
    for (int rounds = 0; rounds < 100000; ++rounds) {
        pollfd readable{.fd = relay.fd(), .events = POLLIN, .revents = 0};
        ASSERT_GE(::poll(&readable, 1, 10000), 0);
        if (!relay.drain()) return;
    }
    FAIL() << "the relay never reported end of file";
}

const log_config plain_log{};

// A relay of a stream to log only, in config's format, its lines stamped with a fixed time.
relay_destination into(log_file* log, const log_config& config = plain_log, output_stream stream = output_stream::out) {
    return {log, &config, "web.0", stream, std::nullopt, nullptr, [] { return std::string("T"); }, {}};
}

// The same, shown too on out behind prefix.
relay_destination shown_on(stdout_queue& out, std::string prefix, log_file* log, const log_config& config = plain_log) {
    relay_destination to = into(log, config);
    to.live = live_prefix{prefix, std::string(prefix.substr(0, prefix.size() - 2)) + "+ "};
    to.out = &out;
    return to;
}

void ignore(std::string_view) {}

// Runs loop until the relay reaches end of file, watching its pipe as an instance does (not while
// out is full), then writes what out still holds.
void run_to_end(brood::monitor& loop, output_relay& relay, stdout_queue& out) {
    bool ended = false;
    std::function<void()> watch;
    watch = [&] {
        loop.add_fd(relay.fd(), EPOLLIN, [&](int fd, std::uint32_t) {
            const bool open = relay.drain();
            if (open && !relay.should_wait()) return;
            loop.remove_fd(fd);
            if (open) relay.wait(watch);
            else ended = true;
        });
    };
    watch();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!ended && std::chrono::steady_clock::now() < deadline) loop.run_once(std::chrono::seconds(1));
    ASSERT_TRUE(ended) << "the relay never reported end of file";
    out.finish(std::chrono::seconds(10));
}

// Everything available on a non-blocking read end.
std::string read_available(int fd) {
    std::string text;
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(n));
    return text;
}

// Writes to files fail past limit bytes (EFBIG), as they do on a full disk (ENOSPC), until lifted:
// no mount needed. SIGXFSZ is ignored meanwhile, so the writes fail instead of killing the test.
class file_size_limit {
public:
    explicit file_size_limit(rlim_t limit) {
        ::getrlimit(RLIMIT_FSIZE, &saved_);
        old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
        rlimit lower = saved_;
        lower.rlim_cur = limit;
        if (::setrlimit(RLIMIT_FSIZE, &lower) != 0) ADD_FAILURE() << "setrlimit: " << std::strerror(errno);
    }
    ~file_size_limit() { lift(); }
    file_size_limit(const file_size_limit&) = delete;
    file_size_limit& operator=(const file_size_limit&) = delete;

    void lift() {
        if (lifted_) return;
        lifted_ = true;
        ::setrlimit(RLIMIT_FSIZE, &saved_);
        ::signal(SIGXFSZ, old_handler_);
    }

private:
    rlimit saved_{};
    sighandler_t old_handler_ = SIG_DFL;
    bool lifted_ = false;
};

// What a log_file's listener heard.
struct heard {
    log_loss loss;
    bool resumed;
};

// Byte i of the long lines below.
char pattern_byte(std::uint64_t i) { return static_cast<char>('a' + i % 26); }

}  // namespace

TEST(log_file, creates_parent_directories_and_appends) {
    temp_dir dir("logs");
    const fs::path file = dir.path() / ".brood" / "logs" / "web.0.log";
    {
        log_file log(file, {});
        EXPECT_EQ(log.path(), file);
        log.write("one\n");
    }
    log_file again(file, {});
    again.write("two\n");
    EXPECT_EQ(read_text(file), "one\ntwo\n");
}

TEST(log_file, rotation_keeps_every_line_once_in_order_and_never_splits_one) {
    temp_dir dir("logs");
    const fs::path file = dir.path() / "web.0.log";
    const log_config config{.max_size = 1000, .keep = 100};
    const auto lines = numbered_lines(2000);
    std::string expected;
    {
        log_file log(file, config);
        for (const auto& line : lines) {
            log.write(line);
            expected += line;
        }
    }
    const auto files = log_files(file);
    EXPECT_GT(files.size(), 20u);
    ASSERT_LT(files.size(), 101u) << "more files than the lines need: some must have been dropped";
    EXPECT_EQ(read_rotated(file, config.max_size), expected);
}

TEST(log_file, a_batch_of_lines_is_cut_at_a_line_boundary) {
    temp_dir dir("logs");
    const fs::path file = dir.path() / "w.log";
    const auto lines = numbered_lines(300);
    std::string batch;
    for (const auto& line : lines) batch += line;
    {
        log_file log(file, {.max_size = 700, .keep = 50});
        log.write(batch);
    }
    EXPECT_EQ(read_rotated(file, 700), batch);
}

TEST(log_file, keeps_only_the_newest_rotated_files) {
    temp_dir dir("logs");
    const fs::path file = dir.path() / "w.log";
    const auto lines = numbered_lines(1000);
    std::string expected;
    {
        log_file log(file, {.max_size = 500, .keep = 3});
        for (const auto& line : lines) {
            log.write(line);
            expected += line;
        }
    }
    // Numbered by a rising sequence, the newest the highest: the last three are left.
    const std::vector<std::uint64_t> sequence = rotated_sequence(file);
    ASSERT_EQ(sequence.size(), 3u);
    EXPECT_GT(sequence.front(), 3u);
    EXPECT_EQ(sequence.back() - sequence.front(), 2u);
    const std::string kept = read_rotated(file, 500);
    // What is left is the end of what was written, whole lines from a line start on.
    ASSERT_LT(kept.size(), expected.size());
    EXPECT_EQ(expected.substr(expected.size() - kept.size()), kept);
    EXPECT_EQ(expected[expected.size() - kept.size() - 1], '\n');
}

TEST(log_file, keep_zero_starts_afresh_and_max_size_zero_never_rotates) {
    temp_dir dir("logs");
    const fs::path fresh = dir.path() / "fresh.log";
    {
        log_file log(fresh, {.max_size = 10, .keep = 0});
        log.write("12345678\n");
        log.write("abcdefgh\n");
    }
    EXPECT_EQ(read_text(fresh), "abcdefgh\n");
    EXPECT_TRUE(rotated_sequence(fresh).empty());

    const fs::path endless = dir.path() / "endless.log";
    std::string expected;
    {
        log_file log(endless, {.max_size = 0, .keep = 5});
        for (const auto& line : numbered_lines(500)) {
            log.write(line);
            expected += line;
        }
    }
    EXPECT_EQ(read_text(endless), expected);
    EXPECT_TRUE(rotated_sequence(endless).empty());
}

TEST(log_file, a_line_longer_than_max_size_stands_alone_in_its_file) {
    temp_dir dir("logs");
    const fs::path file = dir.path() / "w.log";
    const std::string long_line = std::string(300, 'L') + '\n';
    {
        log_file log(file, {.max_size = 100, .keep = 5});
        log.write("before\n");
        log.write(long_line + "after\n");
    }
    EXPECT_EQ(read_text(rotated_path(file, 1)), "before\n");
    EXPECT_EQ(read_text(rotated_path(file, 2)), long_line);
    EXPECT_EQ(read_text(file), "after\n");
}

TEST(log_file, an_existing_file_counts_towards_max_size) {
    temp_dir dir("logs");
    const fs::path file = dir.path() / "w.log";
    std::ofstream(file) << std::string(95, 'o') << '\n';
    {
        log_file log(file, {.max_size = 100, .keep = 2});
        log.write("new line\n");
    }
    EXPECT_EQ(read_text(rotated_path(file, 1)).size(), 96u);
    EXPECT_EQ(read_text(file), "new line\n");
}

TEST(log_file, an_impossible_path_is_an_error_naming_it) {
    temp_dir dir("logs");
    std::ofstream(dir.path() / "plain") << "a file, not a directory\n";
    const fs::path file = dir.path() / "plain" / "logs" / "w.log";
    try {
        log_file log(file, {});
        FAIL() << "no error";
    } catch (const std::system_error& error) {
        EXPECT_NE(std::string(error.what()).find((dir.path() / "plain").string()), std::string::npos) << error.what();
    }
}

TEST(log_file, a_rotated_file_keeps_its_name_so_a_rotation_renames_one_file) {
    temp_dir dir("logs");
    const fs::path file = dir.path() / "w.log";
    log_file log(file, {.max_size = 10, .keep = 1000});
    log.write("first\n");
    log.write("second\n");
    const fs::path oldest = rotated_path(file, 1);
    ASSERT_EQ(read_text(oldest), "first\n");
    struct stat before {};
    ASSERT_EQ(::stat(oldest.c_str(), &before), 0);
    for (int i = 0; i < 500; ++i) log.write("line " + std::to_string(i) + "\n");
    struct stat after {};
    ASSERT_EQ(::stat(oldest.c_str(), &after), 0);
    EXPECT_EQ(after.st_ino, before.st_ino) << "the oldest file was renamed again by later rotations";
    EXPECT_EQ(read_text(oldest), "first\n");
    EXPECT_EQ(read_text(rotated_path(file, 2)), "second\n");
    EXPECT_EQ(rotated_sequence(file).size(), 501u);
    EXPECT_EQ(read_text(rotated_path(file, 501)), "line 498\n");
    EXPECT_EQ(read_text(file), "line 499\n");
}

TEST(log_file, numbering_goes_on_after_a_restart_and_a_lowered_keep_removes_the_oldest) {
    temp_dir dir("logs");
    const fs::path file = dir.path() / "w.log";
    {
        log_file log(file, {.max_size = 10, .keep = 10});
        for (int i = 0; i < 6; ++i) log.write("line " + std::to_string(i) + "\n");
    }
    EXPECT_EQ(rotated_sequence(file), (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
    std::ofstream(dir.path() / "w.log.01") << "not brood's\n";
    log_file log(file, {.max_size = 10, .keep = 2});
    EXPECT_EQ(rotated_sequence(file), (std::vector<std::uint64_t>{4, 5}));
    log.write("line 6\n");
    EXPECT_EQ(rotated_sequence(file), (std::vector<std::uint64_t>{5, 6}));
    EXPECT_EQ(read_text(rotated_path(file, 6)), "line 5\n");
    EXPECT_EQ(read_text(file), "line 6\n");
    EXPECT_TRUE(fs::exists(dir.path() / "w.log.01")) << "a file brood does not name was removed";
}

TEST(log_file, an_unfinished_line_stays_in_its_file_and_is_ended_before_another_writer_writes) {
    temp_dir dir("logs");
    const fs::path file = dir.path() / "w.log";
    int first = 0;
    int second = 0;
    log_file log(file, {.max_size = 100, .keep = 5});
    log.write("head\n" + std::string(80, 'a'), &first);
    log.write(std::string(80, 'b'), &first);  // past max_size: not rotated inside the line
    log.write(std::string(10, 'c') + "\nnext\n", &first);
    EXPECT_EQ(read_text(rotated_path(file, 1)), "head\n" + std::string(80, 'a') + std::string(80, 'b') + std::string(10, 'c') + "\n");
    EXPECT_EQ(read_text(file), "next\n");

    log.write("half a line", &first);
    log.write("another's line\n", &second);
    log.write(" and the rest\n", &first);
    EXPECT_EQ(read_text(file), "next\nhalf a line\nanother's line\n and the rest\n");

    // A line whose start rotates the log goes on in the new file.
    log.write(std::string(150, 'd'), &first);
    log.write("end\n", &first);
    EXPECT_EQ(read_text(file), std::string(150, 'd') + "end\n");
}

TEST(log_file, a_log_deleted_while_written_is_created_again) {
    temp_dir dir("logs");
    const fs::path file = dir.path() / "w.log";
    log_file log(file, {});
    log.write("one\n");
    ASSERT_TRUE(fs::remove(file));
    log.write("two\n");
    EXPECT_EQ(read_text(file), "two\n");
}

TEST(log_file, failed_writes_are_dropped_counted_reported_once_and_retried) {
    temp_dir dir("logs");
    const fs::path file = dir.path() / "w.log";
    std::vector<heard> calls;
    log_file log(file, {}, [&](const log_loss& loss, bool resumed) { calls.push_back({loss, resumed}); });
    log.write("before\n");
    {
        file_size_limit full(17);  // 10 more bytes fit
        log.write("0123456789abcdef\n");
        ASSERT_EQ(calls.size(), 1u);
        EXPECT_FALSE(calls[0].resumed);
        EXPECT_EQ(calls[0].loss.bytes, 7u);
        EXPECT_NE(calls[0].loss.error.find("write log \"" + file.string() + "\": EFBIG"), std::string::npos)
            << calls[0].loss.error;
        for (int i = 0; i < 3; ++i) log.write("more\n");
        EXPECT_EQ(calls.size(), 1u) << "reported again within one episode";
        ASSERT_TRUE(log.failing().has_value());
        EXPECT_EQ(log.failing()->bytes, 22u);
        EXPECT_EQ(log.lost_bytes(), 22u);
    }
    log.write("back\n");
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_TRUE(calls[1].resumed);
    EXPECT_EQ(calls[1].loss.bytes, 22u);
    EXPECT_FALSE(log.failing().has_value());
    EXPECT_EQ(log.lost_bytes(), 22u);
    // The line cut by the failure is ended, and the log says what is missing where it is missing.
    EXPECT_EQ(read_text(file), "before\n0123456789\nbrood: 22 bytes of output lost: " + calls[0].loss.error + "\nback\n");
}

// The note of what was lost is written by the log's own formatter: a json log stays one object per line.
TEST(log_file, the_lost_output_note_is_in_the_logs_format) {
    temp_dir dir("logs");
    const fs::path file = dir.path() / "w.log";
    log_file log(file, {}, {}, [](std::string_view note) { return "{\"line\":\"" + std::string(note) + "\"}\n"; });
    {
        file_size_limit full(0);
        log.write("lost\n");
        ASSERT_TRUE(log.failing().has_value());
    }
    const std::string error = log.failing()->error;
    log.write("back\n");
    EXPECT_EQ(read_text(file), "{\"line\":\"brood: 5 bytes of output lost: " + error + "\"}\nback\n");
}

TEST(log_file, a_log_deleted_while_failing_is_created_anew_so_its_space_comes_back) {
    temp_dir dir("logs");
    const fs::path file = dir.path() / "w.log";
    std::vector<heard> calls;
    log_file log(file, {}, [&](const log_loss& loss, bool resumed) { calls.push_back({loss, resumed}); });
    log.write(std::string(99, 'x') + "\n");
    {
        file_size_limit full(100);
        log.write("lost\n");
        ASSERT_EQ(calls.size(), 1u);
    }
    ASSERT_TRUE(fs::remove(file));  // brood holds it open still: its space comes back once let go
    log.write("back\n");
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(calls[1].loss.bytes, 5u);
    EXPECT_EQ(read_text(file), "brood: 5 bytes of output lost: " + calls[0].loss.error + "\nback\n");
    for (const auto& fd : fs::directory_iterator("/proc/self/fd")) {
        std::error_code not_a_link;
        EXPECT_NE(fs::read_symlink(fd.path(), not_a_link).string(), file.string() + " (deleted)");
    }
}

TEST(live_prefix, pads_to_the_widest_name) {
    EXPECT_EQ(make_prefix("web", 1, 8, 0, false), "web.1    | ");
    EXPECT_EQ(make_prefix("worker", 12, 8, 3, false), "worker.12 | ");
    EXPECT_EQ(make_prefix("a", 0, 0, 0, false), "a.0 | ");
}

TEST(live_prefix, colours_only_when_asked_from_a_fixed_palette) {
    const std::string first = make_prefix("web", 0, 6, 0, true);
    EXPECT_EQ(first, "\033[36mweb.0  |\033[0m ");
    EXPECT_NE(make_prefix("web", 0, 6, 1, true), first);
    // The palette wraps around, negative indexes included.
    int size = 1;
    while (make_prefix("web", 0, 6, size, true) != first) ++size;
    EXPECT_GE(size, 5);
    EXPECT_EQ(make_prefix("web", 0, 6, -size, true), first);
    EXPECT_EQ(make_prefix("web", 0, 6, 7, false).find('\033'), std::string::npos);
}

TEST(output_relay, whole_lines_go_to_the_log_and_prefixed_to_the_live_output) {
    temp_dir dir("logs");
    log_file log(dir.path() / "web.0.log", {});
    pipe_pair output;
    pipe_pair live;
    ASSERT_EQ(::fcntl(live.read.get(), F_SETFL, O_NONBLOCK), 0);
    brood::monitor loop;
    stdout_queue out(loop, live.write.get(), ignore);
    output_relay relay(std::move(output.read), shown_on(out, "web.0 | ", &log));

    write_text(output.write.get(), "first\nsec");
    EXPECT_TRUE(relay.drain());
    EXPECT_EQ(read_text(log.path()), "first\n");
    EXPECT_EQ(read_available(live.read.get()), "web.0 | first\n");

    write_text(output.write.get(), "ond\nthird\n\nfou");
    EXPECT_TRUE(relay.drain());
    EXPECT_EQ(read_text(log.path()), "first\nsecond\nthird\n\n");
    EXPECT_EQ(read_available(live.read.get()), "web.0 | second\nweb.0 | third\nweb.0 | \n");

    output.write.reset();
    EXPECT_FALSE(relay.drain());
    EXPECT_EQ(read_text(log.path()), "first\nsecond\nthird\n\nfou\n") << "the last partial line is flushed at EOF";
    EXPECT_EQ(read_available(live.read.get()), "web.0 | fou\n");
}

TEST(output_relay, without_live_output_only_the_log_is_written) {
    temp_dir dir("logs");
    log_file log(dir.path() / "quiet.0.log", {});
    pipe_pair output;
    pipe_pair live;
    ASSERT_EQ(::fcntl(live.read.get(), F_SETFL, O_NONBLOCK), 0);
    output_relay relay(std::move(output.read), into(&log));
    write_text(output.write.get(), "hidden\n");
    output.write.reset();
    drain_to_end(relay);
    EXPECT_EQ(read_text(log.path()), "hidden\n");
    EXPECT_EQ(read_available(live.read.get()), "");
}

TEST(output_relay, a_full_non_blocking_live_output_is_waited_for_not_dropped) {
    temp_dir dir("logs");
    log_file log(dir.path() / "web.0.log", {});
    pipe_pair output;
    pipe_pair live;
    // A small non-blocking pipe, as a terminal someone set O_NONBLOCK on: writes hit EAGAIN.
    ASSERT_GE(::fcntl(live.write.get(), F_SETPIPE_SZ, 4096), 0);
    ASSERT_EQ(::fcntl(live.write.get(), F_SETFL, O_NONBLOCK), 0);
    brood::monitor loop;
    stdout_queue out(loop, live.write.get(), ignore);
    output_relay relay(std::move(output.read), shown_on(out, "w | ", &log));
    std::string lines;
    for (const auto& line : numbered_lines(1000)) lines += line;
    std::string shown;
    std::thread reader([&] {
        char buffer[512];
        ssize_t n;
        while ((n = ::read(live.read.get(), buffer, sizeof buffer)) > 0) shown.append(buffer, static_cast<std::size_t>(n));
    });
    std::thread writer([&] {
        write_text(output.write.get(), lines);
        output.write.reset();
    });
    run_to_end(loop, relay, out);
    writer.join();
    live.write.reset();  // the reader sees end of file once everything was read
    reader.join();

    EXPECT_EQ(read_text(log.path()), lines);
    std::string expected;
    for (const auto& line : numbered_lines(1000)) expected += "w | " + line;
    EXPECT_TRUE(shown == expected) << "live output lost or reordered lines";
}

TEST(output_relay, a_fifty_megabyte_line_is_logged_whole_and_shown_in_bounded_pieces) {
    temp_dir dir("logs");
    const fs::path file = dir.path() / "big.0.log";
    log_file log(file, {.max_size = 1024 * 1024, .keep = 5});
    pipe_pair output;
    pipe_pair live;
    brood::monitor loop;
    stdout_queue out(loop, live.write.get(), ignore);
    output_relay relay(std::move(output.read), shown_on(out, "big | ", &log));
    constexpr std::uint64_t length = 50 * 1024 * 1024;

    std::thread writer([&] {
        write_text(output.write.get(), "before\n");
        std::string chunk(1024 * 1024, '\0');
        for (std::uint64_t at = 0; at < length; at += chunk.size()) {
            for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = pattern_byte(at + i);
            write_text(output.write.get(), chunk);
        }
        write_text(output.write.get(), "\nafter\n");
        output.write.reset();
    });
    // The live output as it comes: each line the prefix and a piece of the long line, checked
    // against the pattern, so that nothing 50 MB long is held here either.
    std::vector<std::string> short_lines;
    std::uint64_t shown = 0;
    std::size_t pieces = 0;
    std::size_t longest_piece = 0;
    bool pieces_match = true;
    std::thread reader([&] {
        std::string buffer;
        char chunk[64 * 1024];
        ssize_t n;
        while ((n = ::read(live.read.get(), chunk, sizeof chunk)) > 0) {
            buffer.append(chunk, static_cast<std::size_t>(n));
            std::size_t start = 0;
            for (std::size_t end; (end = buffer.find('\n', start)) != std::string::npos; start = end + 1) {
                const std::string_view line = std::string_view(buffer).substr(start, end - start);
                const std::string_view text = line.substr(std::min<std::size_t>(6, line.size()));
                // A line's first piece behind "|", the pieces that continue it behind "+".
                const bool first_piece = text == "before" || text == "after" || shown == 0;
                if (line.substr(0, 6) != (first_piece ? "big | " : "big + ")) pieces_match = false;
                if (text == "before" || text == "after") {
                    short_lines.emplace_back(text);
                    continue;
                }
                for (std::size_t i = 0; i < text.size() && pieces_match; ++i)
                    pieces_match = text[i] == pattern_byte(shown + i);
                shown += text.size();
                longest_piece = std::max(longest_piece, text.size());
                ++pieces;
            }
            buffer.erase(0, start);
        }
    });
    run_to_end(loop, relay, out);
    writer.join();
    live.write.reset();
    reader.join();

    // The log has the line as written, in one file (which exceeds max_size by it).
    const std::string rotated = read_text(rotated_path(file, 1));
    ASSERT_EQ(rotated.size(), 7 + length + 1);
    EXPECT_EQ(rotated.substr(0, 7), "before\n");
    EXPECT_EQ(rotated.back(), '\n');
    std::uint64_t first_difference = length;
    for (std::uint64_t i = 0; i < length && first_difference == length; ++i)
        if (rotated[7 + i] != pattern_byte(i)) first_difference = i;
    EXPECT_EQ(first_difference, length) << "the logged line differs from the one written";
    EXPECT_EQ(read_text(file), "after\n");
    EXPECT_EQ(rotated_sequence(file).size(), 1u);

    // The live output shows it in pieces, each of bounded size: brood never held the whole line.
    EXPECT_EQ(short_lines, (std::vector<std::string>{"before", "after"}));
    EXPECT_TRUE(pieces_match) << "a piece of the live output differs from the line written";
    EXPECT_EQ(shown, length);
    EXPECT_LE(longest_piece, 2 * output_relay::max_line);
    EXPECT_GE(pieces, length / (2 * output_relay::max_line));
}

namespace {

// A pipe that holds four drains' budgets, so that a test can write more than one drain reads.
void hold_four_budgets(const pipe_pair& p) {
    const int size = 4 * output_relay::budget;
    ASSERT_GE(::fcntl(p.write.get(), F_SETPIPE_SZ, size), size);
}

// Lines "y", at least size bytes of them.
std::string y_lines(std::size_t size) {
    std::string lines;
    while (lines.size() < size) lines += "y\n";
    return lines;
}

}  // namespace

TEST(output_relay, reads_at_most_its_budget_per_drain_and_leaves_the_rest_in_the_pipe) {
    temp_dir dir("logs");
    log_file log(dir.path() / "flood.0.log", {});
    pipe_pair output;
    hold_four_budgets(output);
    output_relay relay(std::move(output.read), into(&log));
    const std::string flood = y_lines(2 * output_relay::budget);
    write_text(output.write.get(), flood);

    EXPECT_TRUE(relay.drain());
    int left = 0;
    ASSERT_EQ(::ioctl(relay.fd(), FIONREAD, &left), 0);
    EXPECT_EQ(left, static_cast<int>(output_relay::budget)) << "one drain read more than its budget";
    EXPECT_EQ(fs::file_size(log.path()), output_relay::budget);
    EXPECT_TRUE(relay.drain());
    ASSERT_EQ(::ioctl(relay.fd(), FIONREAD, &left), 0);
    EXPECT_EQ(left, 0);
    EXPECT_EQ(read_text(log.path()), flood);
}

// A pipe that outlives its writers (a health check's, shared by the checks of a run): a writer that
// ended inside a line, its bytes still unread, has that line ended once they are read, and the
// next writer's output starts a line of its own.
TEST(output_relay, a_line_ended_after_the_unread_bytes_ends_there_when_they_are_read) {
    temp_dir dir("logs");
    log_file log(dir.path() / "health.0.log", {});
    pipe_pair output;
    output_relay relay(std::move(output.read), into(&log, plain_log, output_stream::health));
    write_text(output.write.get(), "one\ntw");
    relay.end_line_after_unread();  // the first writer has ended; nothing of it read yet
    write_text(output.write.get(), "three\nfo");
    relay.end_line_after_unread();
    write_text(output.write.get(), "ur");
    EXPECT_TRUE(relay.drain());
    EXPECT_TRUE(relay.emptied());
    relay.end_line();
    const std::string logged = read_text(log.path());
    EXPECT_NE(logged.find("one\n"), std::string::npos) << logged;
    EXPECT_NE(logged.find("tw\n"), std::string::npos) << logged;
    EXPECT_NE(logged.find("three\n"), std::string::npos) << logged;
    EXPECT_NE(logged.find("fo\n"), std::string::npos) << logged;
    EXPECT_NE(logged.find("ur\n"), std::string::npos) << logged;
    EXPECT_EQ(logged.find("twthree"), std::string::npos) << logged;
    EXPECT_EQ(logged.find("four"), std::string::npos) << logged;
}

// More than a drain's budget unread: the line ends in the drain that reaches the end of it.
TEST(output_relay, a_line_ended_after_more_than_a_budget_of_unread_bytes_ends_in_a_later_drain) {
    temp_dir dir("logs");
    log_file log(dir.path() / "flood.0.log", {});
    pipe_pair output;
    hold_four_budgets(output);
    output_relay relay(std::move(output.read), into(&log));
    const std::string flood = y_lines(output_relay::budget + 10);
    write_text(output.write.get(), flood + "last");
    relay.end_line_after_unread();
    write_text(output.write.get(), "next\n");
    EXPECT_TRUE(relay.drain());
    EXPECT_FALSE(relay.emptied()) << "one drain read more than its budget";
    EXPECT_TRUE(relay.drain());
    EXPECT_TRUE(relay.emptied());
    EXPECT_EQ(read_text(log.path()), flood + "last\nnext\n");
}

TEST(output_relay, keeps_reading_its_pipe_while_the_log_cannot_be_written) {
    temp_dir dir("logs");
    std::vector<heard> calls;
    log_file log(dir.path() / "full.0.log", {}, [&](const log_loss& loss, bool resumed) { calls.push_back({loss, resumed}); });
    pipe_pair output;
    output_relay relay(std::move(output.read), into(&log));
    std::string lines;
    for (const auto& line : numbered_lines(1000)) lines += line;
    file_size_limit full(0);
    write_text(output.write.get(), lines);
    bool open = false;
    EXPECT_NO_THROW(open = relay.drain());
    EXPECT_TRUE(open) << "the relay gave up on its pipe";
    int left = -1;
    ASSERT_EQ(::ioctl(relay.fd(), FIONREAD, &left), 0);
    EXPECT_EQ(left, 0) << "the output was not read, the program would block";
    EXPECT_EQ(log.lost_bytes(), lines.size());
    ASSERT_EQ(calls.size(), 1u);

    full.lift();
    write_text(output.write.get(), "back\n");
    output.write.reset();
    drain_to_end(relay);
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(read_text(log.path()),
              "brood: " + std::to_string(lines.size()) + " bytes of output lost: " + calls[0].loss.error + "\nback\n");
}

TEST(output_relay, many_lines_across_rotations_arrive_once_and_in_order) {
    temp_dir dir("logs");
    const fs::path file = dir.path() / "chatty.0.log";
    log_file log(file, {.max_size = 4096, .keep = 1000});
    pipe_pair output;
    output_relay relay(std::move(output.read), into(&log));
    std::string expected;
    for (const auto& line : numbered_lines(20000)) expected += line;
    std::thread writer([&] {
        // Odd-sized writes, so lines arrive cut at arbitrary places.
        for (std::size_t at = 0; at < expected.size(); at += 777) {
            const std::string_view part = std::string_view(expected).substr(at, 777);
            if (::write(output.write.get(), part.data(), part.size()) != static_cast<ssize_t>(part.size())) break;
        }
        output.write.reset();
    });
    drain_to_end(relay);
    writer.join();

    EXPECT_GT(log_files(file).size(), 50u);
    EXPECT_TRUE(read_rotated(file, 4096) == expected) << "lines lost, repeated or reordered";
}

TEST(log_line, plain_is_the_line_as_written_and_timestamps_add_the_time_and_stream_at_a_line_start) {
    const log_line_source source{"web.0", output_stream::err, "2026-12-06T20:49:53.123456Z"};
    std::string text;
    append_log_line(text, {}, source, "listening", true, true);
    EXPECT_EQ(text, "listening\n");
    text.clear();
    const log_config stamped{.timestamps = true};
    append_log_line(text, stamped, source, "first piece ", true, false);
    append_log_line(text, stamped, source, "and its end", false, true);
    EXPECT_EQ(text, "2026-12-06T20:49:53.123456Z stderr first piece and its end\n");
}

TEST(log_line, json_has_time_instance_stream_and_line_in_that_order_and_marks_a_split_line) {
    const log_line_source source{"web.0", output_stream::out, "2026-12-06T20:49:53.123456Z"};
    const log_config json{.format = log_format::json};
    std::string text;
    append_log_line(text, json, source, "say \"hi\"\t\xff", true, true);
    EXPECT_EQ(text, "{\"time\":\"2026-12-06T20:49:53.123456Z\",\"instance\":\"web.0\",\"stream\":\"stdout\","
                    "\"line\":\"say \\\"hi\\\"\\t\xef\xbf\xbd\"}\n");
    text.clear();
    append_log_line(text, json, source, "part", true, false);
    EXPECT_NE(text.find(",\"split\":true}\n"), std::string::npos) << text;
}

TEST(output_relay, stamps_each_line_with_the_time_it_was_read_and_its_stream) {
    temp_dir dir("logs");
    log_file log(dir.path() / "web.0.log", {});
    const log_config stamped{.timestamps = true};
    pipe_pair out;
    pipe_pair err;
    int reads = 0;
    relay_destination to_out = into(&log, stamped, output_stream::out);
    to_out.clock = [&] { return "T" + std::to_string(++reads); };
    relay_destination to_err = into(&log, stamped, output_stream::err);
    to_err.clock = to_out.clock;
    output_relay out_relay(std::move(out.read), std::move(to_out));
    output_relay err_relay(std::move(err.read), std::move(to_err));

    write_text(out.write.get(), "one\ntwo\nthr");
    EXPECT_TRUE(out_relay.drain());
    write_text(err.write.get(), "oops\n");
    EXPECT_TRUE(err_relay.drain());
    write_text(out.write.get(), "ee\n");
    EXPECT_TRUE(out_relay.drain());
    EXPECT_EQ(read_text(log.path()), "T1 stdout one\nT1 stdout two\nT2 stderr oops\nT3 stdout three\n");
}

// Stream tty: the terminal's "\r\n" is "\n" in the log, also when a read ends between the two; a
// '\r' that is not before a '\n' (a progress bar) stays; an attached client gets the bytes as read.
TEST(output_relay, a_terminal_s_line_ends_become_newlines_in_the_log_and_the_mirror_gets_them_as_read) {
    temp_dir dir("logs");
    log_file log(dir.path() / "t.0.log", {});
    pipe_pair output;
    relay_destination to = into(&log, plain_log, output_stream::tty);
    std::string mirrored;
    to.mirror = [&](std::string_view bytes) { mirrored += bytes; };
    output_relay relay(std::move(output.read), std::move(to));
    for (const std::string piece : {"a\r", "\nb\r\n", "50%\r100%\r\n", "\r", "x\r\n", "last\r"}) {
        write_text(output.write.get(), piece);
        EXPECT_TRUE(relay.drain());
    }
    output.write.reset();
    drain_to_end(relay);
    EXPECT_EQ(read_text(log.path()), "a\nb\n50%\r100%\n\rx\nlast\r\n");
    EXPECT_EQ(mirrored, "a\r\nb\r\n50%\r100%\r\n\rx\r\nlast\r");
}

// A terminal's master reads EIO, not end of file, once nobody has the slave open: the relay ends
// there, with everything written before passed on and the partial last line ended.
TEST(output_relay, a_pseudo_terminal_ends_when_its_slave_is_closed_and_nothing_written_is_lost) {
    temp_dir dir("logs");
    log_file log(dir.path() / "t.0.log", {});
    pseudo_terminal pty("t.0");
    EXPECT_EQ(pty.size().rows, 24);
    EXPECT_EQ(pty.size().columns, 80);
    winsize size{};
    ASSERT_EQ(::ioctl(pty.slave(), TIOCGWINSZ, &size), 0);
    EXPECT_EQ(size.ws_row, 24);
    EXPECT_EQ(size.ws_col, 80);
    pty.resize({50, 132});
    ASSERT_EQ(::ioctl(pty.slave(), TIOCGWINSZ, &size), 0);
    EXPECT_EQ(size.ws_row, 50);
    EXPECT_EQ(size.ws_col, 132);
    output_relay relay(pty.reader(), into(&log, plain_log, output_stream::tty));
    std::string lines;
    for (int i = 0; i < 200; ++i) lines += "line " + std::to_string(i) + "\n";
    write_text(pty.slave(), lines + "no newline");
    pty.close_slave();
    drain_to_end(relay);
    EXPECT_EQ(read_text(log.path()), lines + "no newline\n");
}

TEST(output_relay, json_lines_and_a_long_line_in_split_objects) {
    temp_dir dir("logs");
    log_file log(dir.path() / "web.0.log", {});
    const log_config json{.format = log_format::json};
    pipe_pair err;
    ASSERT_GE(::fcntl(err.write.get(), F_SETPIPE_SZ, 1024 * 1024), 1024 * 1024);
    output_relay relay(std::move(err.read), into(&log, json, output_stream::err));
    const std::string long_line(3 * output_relay::max_line, 'x');
    write_text(err.write.get(), "short\n" + long_line + "\n");
    err.write.reset();
    drain_to_end(relay);

    std::istringstream lines(read_text(log.path()));
    std::vector<std::string> objects;
    for (std::string line; std::getline(lines, line);) objects.push_back(line);
    ASSERT_GE(objects.size(), 3u);
    EXPECT_EQ(objects[0], R"({"time":"T","instance":"web.0","stream":"stderr","line":"short"})");
    std::string joined;
    for (std::size_t i = 1; i < objects.size(); ++i) {
        const bool last = i + 1 == objects.size();
        EXPECT_EQ(objects[i].find(R"("split":true)") != std::string::npos, !last) << objects[i];
        const std::size_t start = objects[i].find(R"("line":")") + 8;
        joined += objects[i].substr(start, objects[i].find('"', start) - start);
    }
    EXPECT_EQ(joined, long_line);
}

TEST(output_relay, to_stdout_writes_no_file_prefixes_each_line_splits_long_ones_and_ends_a_partial_last_line) {
    pipe_pair output;
    pipe_pair live;
    ASSERT_EQ(::fcntl(live.read.get(), F_SETFL, O_NONBLOCK), 0);
    ASSERT_GE(::fcntl(live.write.get(), F_SETPIPE_SZ, 1024 * 1024), 1024 * 1024);
    ASSERT_GE(::fcntl(output.write.get(), F_SETPIPE_SZ, 1024 * 1024), 1024 * 1024);
    brood::monitor loop;
    stdout_queue out(loop, live.write.get(), ignore);
    output_relay relay(std::move(output.read), shown_on(out, "web.0 | ", nullptr));
    const std::string long_line(3 * output_relay::max_line, 'x');
    write_text(output.write.get(), "hello\n" + long_line + "\nlast, unfinished");
    output.write.reset();
    drain_to_end(relay);
    out.finish(std::chrono::seconds(1));

    std::istringstream shown(read_available(live.read.get()));
    std::vector<std::string> lines;
    for (std::string line; std::getline(shown, line);) lines.push_back(line);
    ASSERT_GE(lines.size(), 4u);
    EXPECT_EQ(lines.front(), "web.0 | hello");
    EXPECT_EQ(lines.back(), "web.0 | last, unfinished");
    std::string joined = lines[1].substr(8);
    EXPECT_EQ(lines[1].substr(0, 8), "web.0 | ");
    for (std::size_t i = 2; i + 1 < lines.size(); ++i) {
        EXPECT_EQ(lines[i].substr(0, 8), "web.0 + ") << "a continued piece is not marked as such";
        joined += lines[i].substr(8);
    }
    EXPECT_EQ(joined, long_line);
}

TEST(stdout_queue, a_reader_that_does_not_read_stops_the_relay_and_memory_stays_bounded) {
    pipe_pair output;
    pipe_pair live;
    brood::monitor loop;
    stdout_queue out(loop, live.write.get(), ignore);
    output_relay relay(std::move(output.read), shown_on(out, "w | ", nullptr));
    ASSERT_EQ(::fcntl(output.write.get(), F_SETFL, O_NONBLOCK), 0);
    // The program writes until its pipe is full: brood's stdout is never read meanwhile.
    const std::string line(100, 'y');
    std::uint64_t written = 0;
    bool resumed = false;
    for (int turn = 0; turn < 1000 && !relay.should_wait(); ++turn) {
        while (::write(output.write.get(), (line + '\n').data(), line.size() + 1) > 0) written += line.size() + 1;
        relay.drain();
    }
    ASSERT_TRUE(relay.should_wait()) << "the queue never filled";
    EXPECT_LE(out.queued(), stdout_queue::limit + 2 * output_relay::budget);
    relay.wait([&] { resumed = true; });
    EXPECT_FALSE(resumed);
    // The reader reads: the queue is written as brood's stdout becomes writable, and the relay resumes.
    ASSERT_EQ(::fcntl(live.read.get(), F_SETFL, O_NONBLOCK), 0);
    std::uint64_t shown = 0;
    for (int turn = 0; turn < 10000 && !resumed; ++turn) {
        shown += read_available(live.read.get()).size();
        loop.run_once(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(resumed) << "the relay was never told to read again";
    EXPECT_GT(shown, 0u);
    EXPECT_EQ(out.dropped_lines(), 0u);
}

TEST(stdout_queue, lines_written_once_nobody_reads_are_dropped_counted_and_reported_once) {
    pipe_pair live;
    brood::monitor loop;
    std::vector<std::string> said;
    stdout_queue out(loop, live.write.get(), [&](std::string_view line) { said.emplace_back(line); });
    // As in brood up, where SIGPIPE is blocked: the write fails with EPIPE.
    const auto old_handler = ::signal(SIGPIPE, SIG_IGN);
    out.write("shown\n");
    live.read.reset();
    out.write("lost 1\nlost 2\n");
    out.write("lost 3\n");
    EXPECT_EQ(out.dropped_lines(), 3u);
    ASSERT_EQ(said.size(), 1u);
    EXPECT_NE(said[0].find("EPIPE"), std::string::npos) << said[0];
    out.finish(std::chrono::seconds(1));
    ASSERT_EQ(said.size(), 2u);
    EXPECT_NE(said[1].find("3 lines"), std::string::npos) << said[1];
    ::signal(SIGPIPE, old_handler);
}
