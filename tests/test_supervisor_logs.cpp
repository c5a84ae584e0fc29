// The supervisor's logs: log_file's size-based rotation (no line split, nothing lost), the live
// prefix, and output_relay carrying a pipe's bytes to the log and the live output line by line.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <brood/unique_fd.hpp>

#include "support/temp_dir.hpp"
#include "supervisor/live_prefix.hpp"
#include "supervisor/log_file.hpp"
#include "supervisor/output_relay.hpp"

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

fs::path generation(const fs::path& file, unsigned n) {
    fs::path result = file;
    result += "." + std::to_string(n);
    return result;
}

// Every file of a rotated log, oldest first, ending with the current one.
std::vector<fs::path> log_files(const fs::path& file) {
    std::vector<fs::path> files;
    for (unsigned n = 1; fs::exists(generation(file, n)); ++n) files.insert(files.begin(), generation(file, n));
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

// Everything available on a non-blocking read end.
std::string read_available(int fd) {
    std::string text;
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(n));
    return text;
}

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
    EXPECT_TRUE(fs::exists(generation(file, 3)));
    EXPECT_FALSE(fs::exists(generation(file, 4)));
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
    EXPECT_FALSE(fs::exists(generation(fresh, 1)));

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
    EXPECT_FALSE(fs::exists(generation(endless, 1)));
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
    EXPECT_EQ(read_text(generation(file, 2)), "before\n");
    EXPECT_EQ(read_text(generation(file, 1)), long_line);
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
    EXPECT_EQ(read_text(generation(file, 1)).size(), 96u);
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
    output_relay relay(std::move(output.read), log, live_prefix{"web.0 | "}, live.write.get());

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
    output_relay relay(std::move(output.read), log, std::nullopt, live.write.get());
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
    output_relay relay(std::move(output.read), log, live_prefix{"w | "}, live.write.get());
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
    drain_to_end(relay);
    writer.join();
    live.write.reset();  // the reader sees end of file once everything was read
    reader.join();

    EXPECT_EQ(read_text(log.path()), lines);
    std::string expected;
    for (const auto& line : numbered_lines(1000)) expected += "w | " + line;
    EXPECT_TRUE(shown == expected) << "live output lost or reordered lines";
}

TEST(output_relay, a_mebibyte_without_newline_is_logged_in_bounded_pieces) {
    temp_dir dir("logs");
    log_file log(dir.path() / "big.0.log", {});
    pipe_pair output;
    output_relay relay(std::move(output.read), log, std::nullopt);
    std::string big(1024 * 1024, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
    std::thread writer([&] {
        std::size_t done = 0;
        while (done < big.size()) {
            const ssize_t n = ::write(output.write.get(), big.data() + done, big.size() - done);
            if (n <= 0) break;
            done += static_cast<std::size_t>(n);
        }
        output.write.reset();
    });
    drain_to_end(relay);
    writer.join();

    const std::string logged = read_text(log.path());
    std::string expected;
    for (std::size_t at = 0; at < big.size(); at += output_relay::max_line)
        expected += big.substr(at, output_relay::max_line) + '\n';
    EXPECT_EQ(logged.size(), expected.size());
    EXPECT_TRUE(logged == expected) << "the pieces differ from the bytes written";
}

TEST(output_relay, many_lines_across_rotations_arrive_once_and_in_order) {
    temp_dir dir("logs");
    const fs::path file = dir.path() / "chatty.0.log";
    log_file log(file, {.max_size = 4096, .keep = 1000});
    pipe_pair output;
    output_relay relay(std::move(output.read), log, std::nullopt);
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
