// pool: codec, parallel_map over copy-on-write memory, the worker pool (results, order, crashes,
// recovery, recycling, shutdown) and the prefork server, including the example echo server.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <numeric>
#include <ranges>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <brood/brood.hpp>
#include <brood/pool.hpp>

#include "support/leak_check.hpp"
#include "support/sanitizers.hpp"

namespace {

using namespace std::chrono_literals;

using brood::testing::under_tsan;

// A task that ends its worker: no core file (a core dump can take long to write), and no
// sanitizer's handler in the way.
[[noreturn]] void die_by(int signal) {
    const rlimit none{0, 0};
    ::setrlimit(RLIMIT_CORE, &none);
    std::signal(signal, SIG_DFL);
    ::raise(signal);
    ::_exit(99);
}

// The signal state a program that reads SIGTERM from a signalfd, catches SIGUSR1 and ignores
// SIGPIPE sets up, for one test: SIGTERM blocked in this thread, a handler for SIGUSR1, SIGPIPE ignored.
class caller_signals {
public:
    caller_signals() {
        sigset_t term;
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        ::pthread_sigmask(SIG_BLOCK, &term, &mask_);
        struct sigaction handler {};
        handler.sa_handler = [](int) {};
        ::sigaction(SIGUSR1, &handler, &usr1_);
        struct sigaction ignore {};
        ignore.sa_handler = SIG_IGN;
        ::sigaction(SIGPIPE, &ignore, &pipe_);
    }
    ~caller_signals() {
        ::sigaction(SIGPIPE, &pipe_, nullptr);
        ::sigaction(SIGUSR1, &usr1_, nullptr);
        ::pthread_sigmask(SIG_SETMASK, &mask_, nullptr);
    }
    caller_signals(const caller_signals&) = delete;
    caller_signals& operator=(const caller_signals&) = delete;

private:
    sigset_t mask_;
    struct sigaction usr1_, pipe_;
};

// What this thread has of caller_signals' set-up, for a worker to send back.
std::string signal_state() {
    sigset_t mask;
    ::pthread_sigmask(SIG_SETMASK, nullptr, &mask);
    struct sigaction usr1 {}, pipe {};
    ::sigaction(SIGUSR1, nullptr, &usr1);
    ::sigaction(SIGPIPE, nullptr, &pipe);
    return std::string(sigismember(&mask, SIGTERM) ? "SIGTERM blocked" : "SIGTERM open") +
           (usr1.sa_handler == SIG_DFL ? ", SIGUSR1 default" : ", SIGUSR1 handled") +
           (pipe.sa_handler == SIG_IGN ? ", SIGPIPE ignored" : ", SIGPIPE default");
}

constexpr std::string_view callers_signals = "SIGTERM blocked, SIGUSR1 handled, SIGPIPE ignored";
constexpr std::string_view clean_signals = "SIGTERM open, SIGUSR1 default, SIGPIPE ignored";

struct order {
    std::uint64_t id = 0;
    std::string customer;
    std::vector<double> amounts;
    friend bool operator==(const order&, const order&) = default;
};

}  // namespace

template <>
struct brood::codec<order> {
    static void encode(const order& o, byte_writer& out) {
        out.encode(o.id);
        out.encode(o.customer);
        out.encode(o.amounts);
    }
    static order decode(byte_reader& in) {
        order o;
        o.id = in.decode<std::uint64_t>();
        o.customer = in.decode<std::string>();
        o.amounts = in.decode<std::vector<double>>();
        return o;
    }
};

namespace {

template <class T>
T round_trip(const T& value) {
    brood::byte_buffer buffer;
    brood::byte_writer out(buffer);
    out.encode(value);
    brood::byte_reader in(buffer.data(), buffer.size());
    T back = in.decode<T>();
    EXPECT_EQ(in.remaining(), 0u);
    return back;
}

// ---------------------------------------------------------------------------------------------- codec

struct point {
    int x;
    double y;
    friend bool operator==(const point&, const point&) = default;
};

TEST(pool_codec, round_trips_built_in_and_user_types) {
    EXPECT_EQ(round_trip(42), 42);
    EXPECT_EQ(round_trip(point{3, 4.5}), (point{3, 4.5}));
    EXPECT_EQ(round_trip(std::string("hello\0world", 11)), std::string("hello\0world", 11));
    EXPECT_EQ(round_trip(std::string()), "");
    const std::vector<std::byte> bytes{std::byte{0}, std::byte{255}, std::byte{7}};
    EXPECT_EQ(round_trip(bytes), bytes);
    const order o{7, "ada", {1.5, 2.5}};
    EXPECT_EQ(round_trip(o), o);
}

TEST(pool_codec, sizes_are_the_documented_format) {
    brood::byte_buffer buffer;
    brood::byte_writer out(buffer);
    out.encode(std::uint32_t{1});
    EXPECT_EQ(buffer.size(), 4u);
    out.encode(std::string("abc"));  // u64 length + bytes
    EXPECT_EQ(buffer.size(), 4u + 8u + 3u);
    out.encode(std::vector<std::uint16_t>{1, 2});  // u64 count + elements
    EXPECT_EQ(buffer.size(), 15u + 8u + 4u);
}

TEST(pool_codec, truncated_or_lying_data_is_an_error_not_a_crash) {
    brood::byte_buffer buffer;
    brood::byte_writer out(buffer);
    out.encode(std::uint64_t{1} << 60);  // a string length far beyond the data
    brood::byte_reader in(buffer.data(), buffer.size());
    EXPECT_THROW(in.decode<std::string>(), brood::codec_error);
    brood::byte_reader short_read(buffer.data(), 3);
    EXPECT_THROW(short_read.decode<std::uint64_t>(), brood::codec_error);
}

static_assert(brood::encodable<int> && brood::encodable<std::string> && brood::encodable<order>);
static_assert(!brood::encodable<int*> && !brood::encodable<std::string_view> && !brood::encodable<std::span<int>>);

// ----------------------------------------------------------------------------------------- parallel_map

TEST(parallel_map, results_are_correct_and_in_order) {
    std::vector<std::uint64_t> input(1'000'000);
    std::iota(input.begin(), input.end(), 0);
    const auto out = brood::parallel_map(input, [](std::uint64_t x) { return x * 3 + 1; }, {.workers = 3, .chunk = 1000});
    ASSERT_EQ(out.size(), input.size());
    for (std::size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], i * 3 + 1) << i;
}

TEST(parallel_map, small_and_empty_inputs) {
    EXPECT_TRUE(brood::parallel_map(std::vector<int>(), [](int x) { return x; }).empty());
    // More workers than elements: one per element.
    const auto out = brood::parallel_map(std::vector<int>{1, 2, 3}, [](int x) { return x * x; }, {.workers = 8});
    EXPECT_EQ(out, (std::vector<int>{1, 4, 9}));
}

// A predicate's results come back as std::vector<bool>, which packs them and has no data().
TEST(parallel_map, bool_results) {
    std::vector<int> input(10'000);
    std::iota(input.begin(), input.end(), 0);
    const std::vector<bool> even = brood::parallel_map(input, [](int x) { return x % 2 == 0; }, {.workers = 2, .chunk = 100});
    ASSERT_EQ(even.size(), input.size());
    for (std::size_t i = 0; i < even.size(); ++i) ASSERT_EQ(even[i], i % 2 == 0) << i;
}

// The tutorials' point: workers read the parent's data where it lies. 256 MiB of records are read
// by two workers; each measures its own memory from /proc while it works, and a worker's private
// memory stays far below the half of the input it reads (a copy would make it private).
TEST(parallel_map, reads_a_large_input_without_copying_it) {
    struct record {
        std::uint64_t key;
        std::uint32_t values[14];
    };
    static_assert(sizeof(record) == 64);
    const std::size_t bytes = under_tsan ? (8u << 20) : (256u << 20);  // TSan: shadow memory, slow copies
    const std::size_t n = bytes / sizeof(record);
    std::vector<record> records(n);
    for (std::size_t i = 0; i < n; ++i) {
        records[i].key = i;
        std::fill(std::begin(records[i].values), std::end(records[i].values), static_cast<std::uint32_t>(i));
    }

    // Samples written by the workers into memory the test shares with them.
    constexpr std::size_t every = 1 << 16;
    struct sample {
        std::uint64_t shared, private_bytes;
    };
    const std::size_t samples = n / every;
    void* shared = ::mmap(nullptr, samples * sizeof(sample), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(shared, MAP_FAILED);
    auto* seen = static_cast<sample*>(shared);
    const record* base = records.data();

    const auto sums = brood::parallel_map(
        records,
        [&](const record& r) {
            std::uint32_t sum = 0;
            for (std::uint32_t v : r.values) sum += v;
            const auto i = static_cast<std::size_t>(&r - base);
            if (i % every == every - 1) {
                const auto m = brood::proc::read_memory(::getpid()).value();
                seen[i / every] = {m.shared(), m.private_total()};
            }
            return sum;
        },
        {.workers = 2});

    for (std::size_t i = 0; i < n; i += 9973) ASSERT_EQ(sums[i], static_cast<std::uint32_t>(i * 14)) << i;
    std::uint64_t min_shared = ~std::uint64_t{0}, max_private = 0;
    for (std::size_t s = 0; s < samples; ++s) {
        min_shared = std::min(min_shared, seen[s].shared);
        max_private = std::max(max_private, seen[s].private_bytes);
    }
    ::munmap(shared, samples * sizeof(sample));
    std::printf("[ info     ] input %zu MiB; in the workers: least shared %llu MiB, most private %llu MiB\n",
                bytes >> 20, static_cast<unsigned long long>(min_shared >> 20),
                static_cast<unsigned long long>(max_private >> 20));
    if (under_tsan) GTEST_SKIP() << "TSan writes shadow memory for every read: private memory is not meaningful";
    // All along, the whole input is shared with the parent...
    EXPECT_GE(min_shared, bytes);
    // ...and what is private is its stack, heap (a 1 MiB result buffer) and libc pages, while a
    // copy of the half of the input it reads would be 128 MiB.
    EXPECT_LT(max_private, 32u << 20);
}

// The example program, as a user would run it: its workers report their own memory.
TEST(parallel_map, example_shows_the_input_read_in_place) {
    const std::string program = std::string(BROOD_EXAMPLES_DIR) + "/parallel_map_cow";
    if (::access(program.c_str(), X_OK) != 0) GTEST_SKIP() << program << " is not built";
    const auto run = brood::command(program).args(std::vector<std::string>{"--records", "400000", "--workers", "2"}).output();
    ASSERT_EQ(run.status.code(), 0) << run.out << run.err;
    EXPECT_NE(run.out.find("totals agree"), std::string::npos) << run.out;
    int workers = 0;
    for (std::size_t at = 0; (at = run.out.find("worker pid ", at)) != std::string::npos; ++at) {
        ++workers;
        const auto line = run.out.substr(at, run.out.find('\n', at) - at);
        const double shared = std::stod(line.substr(line.find("parent ") + 7));
        const double private_mib = std::stod(line.substr(line.find("private ") + 8));
        EXPECT_GE(shared, 24.0) << line;  // the 24 MiB of records
        if (!under_tsan) {
            EXPECT_LT(private_mib, 16.0) << line;
        }
    }
    EXPECT_EQ(workers, 2) << run.out;

    const auto crash = brood::command(program).args(std::vector<std::string>{"--records", "100000", "--crash", "77777"}).output();
    EXPECT_EQ(crash.status.code(), 1);
    EXPECT_NE(crash.out.find("killed by SIGABRT"), std::string::npos) << crash.out;
    EXPECT_NE(crash.out.find("every worker has been reaped"), std::string::npos) << crash.out;
}

TEST(parallel_map, a_crashing_worker_names_itself_its_slice_and_how_it_died) {
    std::vector<int> input(10'000);
    std::iota(input.begin(), input.end(), 0);
    try {
        brood::parallel_map(
            input,
            [](int x) {
                if (x == 6789) die_by(SIGABRT);
                return x;
            },
            {.workers = 2, .chunk = 100});
        FAIL() << "no exception";
    } catch (const brood::parallel_map_error& e) {
        EXPECT_EQ(e.slice_begin(), 6700u);
        EXPECT_EQ(e.slice_end(), 6800u);
        EXPECT_LT(e.worker(), 2u);
        EXPECT_GT(e.pid(), 0);
        EXPECT_EQ(e.status().signal(), SIGABRT);
        EXPECT_TRUE(e.message().empty());
        const std::string what = e.what();
        EXPECT_NE(what.find("slice [6700, 6800)"), std::string::npos) << what;
        EXPECT_NE(what.find("killed by SIGABRT"), std::string::npos) << what;
        EXPECT_NE(what.find("(pid " + std::to_string(e.pid())), std::string::npos) << what;
    }
    // Nothing is left running: the leak check fails the test otherwise.
}

TEST(parallel_map, an_exception_in_a_worker_is_reported_with_its_message) {
    std::vector<int> input(1000, 1);
    try {
        brood::parallel_map(
            input,
            [&](const int& x) {
                if (&x == &input[500]) throw std::runtime_error("bad record");
                return x;
            },
            {.workers = 2, .chunk = 10});
        FAIL() << "no exception";
    } catch (const brood::parallel_map_error& e) {
        EXPECT_EQ(e.message(), "bad record");
        EXPECT_EQ(e.status().code(), brood::uncaught_exception_exit_code);
        EXPECT_EQ(e.slice_begin(), 500u);
        EXPECT_NE(std::string(e.what()).find("threw: bad record"), std::string::npos) << e.what();
    }
}

TEST(parallel_map, a_worker_killed_from_outside_fails_the_call) {
    std::vector<int> input(4);
    try {
        brood::parallel_map(
            input,
            [](int) {
                die_by(SIGKILL);
                return 0;
            },
            {.workers = 1});
        FAIL() << "no exception";
    } catch (const brood::parallel_map_error& e) {
        EXPECT_EQ(e.status().signal(), SIGKILL);
        EXPECT_EQ(e.worker(), 0u);
    }
}

// ------------------------------------------------------------------------------------------------ pool

TEST(parallel_map, workers_start_with_default_signals_unless_asked_to_inherit) {
    caller_signals setup;
    // parallel_map's results are trivially copyable: each worker says whether its state is clean.
    const auto clean = brood::parallel_map(std::views::iota(0, 2), [](int) { return signal_state() == clean_signals ? 1 : 0; },
                                           {.workers = 2});
    EXPECT_EQ(clean, (std::vector<int>{1, 1}));
    const auto kept = brood::parallel_map(std::views::iota(0, 2), [](int) { return signal_state() == callers_signals ? 1 : 0; },
                                          {.workers = 2, .inherit_signals = true});
    EXPECT_EQ(kept, (std::vector<int>{1, 1}));
    EXPECT_EQ(signal_state(), callers_signals) << "the caller's own signal state must be restored";
}

TEST(pool, submit_and_get) {
    brood::pool<int, int> workers([](int x) { return x + 1; }, {.workers = 2});
    EXPECT_EQ(workers.workers(), 2u);
    EXPECT_EQ(workers.submit(41).get(), 42);
    std::vector<brood::task<int>> tasks;
    for (int i = 0; i < 100; ++i) tasks.push_back(workers.submit(i));
    for (int i = 0; i < 100; ++i) EXPECT_EQ(tasks[static_cast<std::size_t>(i)].get(), i + 1);
    workers.join();
}

TEST(pool, workers_default_to_the_cpus_and_run_in_other_processes) {
    brood::pool<int, pid_t> workers([](int) { return ::getpid(); });
    EXPECT_EQ(workers.workers(), brood::detail::available_cpus());
    const pid_t pid = workers.submit(0).get();
    EXPECT_NE(pid, ::getpid());
    const auto pids = workers.worker_pids();
    EXPECT_NE(std::find(pids.begin(), pids.end(), pid), pids.end());
}

TEST(pool, map_keeps_order_for_every_chunking) {
    brood::pool<int, long> workers([](int x) { return 2L * x; }, {.workers = 3});
    for (std::size_t chunk : {0u, 1u, 7u, 1000u}) {
        const auto out = workers.map(std::views::iota(0, 20'000), {.chunk_size = chunk, .in_flight = chunk == 1 ? 64u : 0u});
        ASSERT_EQ(out.size(), 20'000u);
        for (int i = 0; i < 20'000; ++i) ASSERT_EQ(out[static_cast<std::size_t>(i)], 2L * i) << "chunk " << chunk;
    }
    EXPECT_TRUE(workers.map(std::vector<int>()).empty());
}

TEST(pool, strings_and_user_types_travel) {
    brood::pool<order, std::string> workers(
        [](const order& o) { return o.customer + ":" + std::to_string(o.id + o.amounts.size()); }, {.workers = 2});
    EXPECT_EQ(workers.submit(order{1, "ada", {1, 2, 3}}).get(), "ada:4");
    std::vector<order> orders;
    for (std::uint64_t i = 0; i < 500; ++i) orders.push_back({i, std::string(i % 50, 'x'), std::vector<double>(i % 7)});
    const auto out = workers.map(orders, {.chunk_size = 16});
    for (std::size_t i = 0; i < orders.size(); ++i)
        ASSERT_EQ(out[i], std::string(i % 50, 'x') + ":" + std::to_string(i + i % 7));
}

TEST(pool, many_small_tasks) {
    brood::pool<std::uint32_t, std::uint32_t> workers([](std::uint32_t x) { return x ^ 0x5a5a5a5au; }, {.workers = 2});
    const auto out = workers.map(std::views::iota(0u, 300'000u));
    for (std::uint32_t i = 0; i < 300'000u; ++i) ASSERT_EQ(out[i], i ^ 0x5a5a5a5au);
    std::vector<brood::task<std::uint32_t>> tasks;
    for (std::uint32_t i = 0; i < 5000; ++i) tasks.push_back(workers.submit(i));
    std::uint64_t sum = 0;
    for (auto& t : tasks) sum += t.get() ^ 0x5a5a5a5au;
    EXPECT_EQ(sum, 4999ull * 5000 / 2);
}

// Without spinning every wait goes to sleep on the eventfd: the wake-up handshake is exercised on
// each round trip, where a lost wake-up hangs (the ctest timeout catches it).
TEST(pool, round_trips_with_and_without_spinning) {
    for (auto spin : {std::chrono::microseconds(0), std::chrono::microseconds(50)}) {
        brood::pool<int, int> workers([](int x) { return x + 1; }, {.workers = 2, .spin = spin});
        long sum = 0;
        for (int i = 0; i < 3000; ++i) sum += workers.submit(i).get();
        EXPECT_EQ(sum, 3000L * 3001 / 2) << "spin " << spin.count();
        const auto out = workers.map(std::views::iota(0, 20'000), {.chunk_size = 3});
        EXPECT_EQ(out.back(), 20'000);
    }
}

// Payloads many times the ring size travel in pieces, both ways, and several at once.
TEST(pool, large_payloads_stream_through_small_rings) {
    for (std::size_t ring : {std::size_t{64} << 10, std::size_t{1} << 20}) {
        brood::pool<std::string, std::string> workers(
            [](const std::string& s) {
                std::string r(s.rbegin(), s.rend());
                return r + r;  // twice as large back
            },
            {.workers = 2, .ring_bytes = ring});
        std::vector<brood::task<std::string>> tasks;
        std::vector<std::string> inputs;
        for (int i = 0; i < 3; ++i) {
            // MiBs, 16 times the small ring at least; TSan checks every byte copied, so less there.
            std::string s((under_tsan ? (1u << 20) : (2u << 20)) + static_cast<unsigned>(i), '\0');
            for (std::size_t k = 0; k < s.size(); ++k) s[k] = static_cast<char>((k * 131 + static_cast<unsigned>(i)) & 0xff);
            inputs.push_back(s);
            tasks.push_back(workers.submit(s));
        }
        for (int i = 0; i < 3; ++i) {
            const std::string& s = inputs[static_cast<std::size_t>(i)];
            const std::string back(s.rbegin(), s.rend());
            EXPECT_EQ(tasks[static_cast<std::size_t>(i)].get(), back + back) << "ring " << ring << " task " << i;
        }
    }
}

// A function that throws fails its task only; the worker lives on.
TEST(pool, an_exception_fails_the_task_and_keeps_the_worker) {
    brood::pool<int, int> workers(
        [](int x) {
            if (x < 0) throw std::invalid_argument("negative: " + std::to_string(x));
            return x;
        },
        {.workers = 1});
    const auto before = workers.worker_pids();
    try {
        workers.submit(-5).get();
        FAIL() << "no exception";
    } catch (const brood::task_failed& e) {
        EXPECT_EQ(e.why(), brood::task_failed::reason::threw);
        EXPECT_EQ(e.message(), "negative: -5");
        EXPECT_EQ(e.worker(), 0u);
        EXPECT_EQ(e.pid(), before[0]);
        EXPECT_FALSE(e.index());
        EXPECT_NE(std::string(e.what()).find("threw in worker 0"), std::string::npos) << e.what();
    }
    EXPECT_EQ(workers.submit(3).get(), 3);
    EXPECT_EQ(workers.worker_pids(), before);
    EXPECT_EQ(workers.restarts(), 0u);
}

// abort, SIGKILL, exit(): the running task fails with the wait status; the pool forks a replacement.
TEST(pool, a_worker_that_dies_fails_only_its_task_and_is_replaced) {
    brood::pool<int, int> workers(
        [](int x) {
            if (x == -1) die_by(SIGABRT);
            if (x == -2) die_by(SIGKILL);
            if (x == -3) ::_exit(3);
            return x * 10;
        },
        {.workers = 2});
    struct expectation {
        int task;
        std::optional<int> signal, code;
    };
    for (const expectation& want : {expectation{-1, SIGABRT, {}}, {-2, SIGKILL, {}}, {-3, {}, 3}}) {
        std::vector<brood::task<int>> around;
        for (int i = 0; i < 10; ++i) around.push_back(workers.submit(i));
        auto doomed = workers.submit(want.task);
        for (int i = 10; i < 20; ++i) around.push_back(workers.submit(i));
        try {
            doomed.get();
            FAIL() << "no exception for " << want.task;
        } catch (const brood::task_failed& e) {
            EXPECT_EQ(e.why(), brood::task_failed::reason::worker_died);
            ASSERT_TRUE(e.status());
            EXPECT_EQ(e.status()->signal(), want.signal) << e.what();
            EXPECT_EQ(e.status()->code(), want.code) << e.what();
            EXPECT_GT(e.pid(), 0);
        }
        // Every other task succeeds, including those queued behind the dead one.
        for (std::size_t i = 0; i < around.size(); ++i) EXPECT_EQ(around[i].get(), static_cast<int>(i) * 10);
    }
    EXPECT_EQ(workers.restarts(), 3u);
    EXPECT_EQ(workers.worker_pids().size(), 2u);
    EXPECT_EQ(workers.submit(7).get(), 70);
}

// The task's worker is killed from outside while it runs.
TEST(pool, a_worker_killed_mid_task_fails_that_task_with_sigkill) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    const brood::unique_fd read_end(fds[0]), write_end(fds[1]);
    brood::pool<int, int> workers(
        [&](int x) {
            if (x == 0) {
                const pid_t self = ::getpid();
                brood::detail::write_all(write_end.get(), &self, sizeof self);
                ::pause();
            }
            return x;
        },
        {.workers = 2});
    auto victim = workers.submit(0);
    pid_t pid = 0;
    ASSERT_EQ(::read(read_end.get(), &pid, sizeof pid), static_cast<ssize_t>(sizeof pid));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    try {
        victim.get();
        FAIL() << "no exception";
    } catch (const brood::task_failed& e) {
        EXPECT_EQ(e.why(), brood::task_failed::reason::worker_died);
        EXPECT_EQ(e.pid(), pid);
        EXPECT_EQ(e.status()->signal(), SIGKILL);
        EXPECT_NE(std::string(e.what()).find("killed by SIGKILL while running the task"), std::string::npos) << e.what();
    }
    EXPECT_EQ(workers.submit(5).get(), 5);
}

// An idle worker killed from outside costs no task: what was sent to it goes to another worker.
TEST(pool, an_idle_worker_that_dies_costs_no_task) {
    brood::pool<int, int> workers([](int x) { return x; }, {.workers = 2});
    const pid_t victim = workers.worker_pids()[0];
    ASSERT_EQ(::kill(victim, SIGKILL), 0);
    siginfo_t info{};
    ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(victim), &info, WEXITED | WNOWAIT), 0);  // dead, not reaped
    auto a = workers.submit(1), b = workers.submit(2);  // one of them goes to the dead worker
    EXPECT_EQ(a.get(), 1);
    EXPECT_EQ(b.get(), 2);
    EXPECT_EQ(workers.restarts(), 1u);
    const auto pids = workers.worker_pids();
    EXPECT_EQ(std::find(pids.begin(), pids.end(), victim), pids.end());
}

TEST(pool, map_fails_with_the_index_of_the_failing_task) {
    brood::pool<int, int> workers(
        [](int x) {
            if (x == 1234) throw std::runtime_error("no 1234");
            if (x == 4321) die_by(SIGSEGV);
            return x;
        },
        {.workers = 2});
    try {
        workers.map(std::views::iota(0, 2000), {.chunk_size = 10});
        FAIL() << "no exception";
    } catch (const brood::task_failed& e) {
        EXPECT_EQ(e.why(), brood::task_failed::reason::threw);
        EXPECT_EQ(e.index(), 1234u);
        EXPECT_EQ(e.message(), "no 1234");
    }
    try {
        workers.map(std::views::iota(4000, 5000), {.chunk_size = 100});
        FAIL() << "no exception";
    } catch (const brood::task_failed& e) {
        EXPECT_EQ(e.why(), brood::task_failed::reason::worker_died);
        EXPECT_EQ(e.index(), 300u);  // the first of the chunk [300, 400) that held 4321
        EXPECT_EQ(e.status()->signal(), SIGSEGV);
        EXPECT_NE(std::string(e.what()).find("tasks 300 to 399"), std::string::npos) << e.what();
    }
    const auto out = workers.map(std::views::iota(0, 1000));
    EXPECT_EQ(out[999], 999);
}

// init runs in each worker after the fork; what it sets up is the worker's own.
TEST(pool, init_runs_in_each_worker_after_fork) {
    static std::size_t slot = 999;
    static pid_t initialized_in = 0;
    brood::pool<int, std::size_t> workers([](int) { return initialized_in == ::getpid() ? slot : 1000; },
        {.workers = 3, .init = [](std::size_t worker) {
             slot = worker;
             initialized_in = ::getpid();
         }});
    std::set<std::size_t> slots;
    for (int round = 0; round < 50 && slots.size() < 3; ++round) {
        std::vector<brood::task<std::size_t>> tasks;
        for (int i = 0; i < 3; ++i) tasks.push_back(workers.submit(i));
        for (auto& t : tasks) slots.insert(t.get());
    }
    EXPECT_EQ(slots, (std::set<std::size_t>{0, 1, 2}));
    EXPECT_EQ(slot, 999u);  // the parent's copy is untouched
}

TEST(pool, workers_start_with_default_signals_unless_asked_to_inherit) {
    caller_signals setup;
    brood::pool<int, std::string> clean([](int) { return signal_state(); }, {.workers = 1});
    EXPECT_EQ(clean.submit(0).get(), clean_signals);
    brood::pool<int, std::string> kept([](int) { return signal_state(); }, {.workers = 1, .inherit_signals = true});
    EXPECT_EQ(kept.submit(0).get(), callers_signals);
    EXPECT_EQ(signal_state(), callers_signals) << "the caller's own signal state must be restored";
}

TEST(pool, an_init_that_always_fails_fails_the_tasks_instead_of_forking_forever) {
    brood::pool<int, int> workers([](int x) { return x; },
                                  {.workers = 2, .init = [](std::size_t) { throw std::runtime_error("no database"); }});
    try {
        workers.submit(1).get();
        FAIL() << "no exception";
    } catch (const brood::task_failed& e) {
        EXPECT_EQ(e.why(), brood::task_failed::reason::start_failed);
        EXPECT_EQ(e.status()->code(), brood::uncaught_exception_exit_code);
        EXPECT_NE(std::string(e.what()).find("init threw: no database"), std::string::npos) << e.what();
    }
    EXPECT_LE(workers.restarts(), 3u);
    EXPECT_THROW(workers.submit(2).get(), brood::task_failed);
}

TEST(pool, workers_are_recycled_after_max_tasks) {
    brood::pool<int, pid_t> workers([](int) { return ::getpid(); }, {.workers = 2, .max_tasks_per_worker = 5});
    std::set<pid_t> pids;
    for (int i = 0; i < 40; ++i) pids.insert(workers.submit(i).get());
    EXPECT_GE(pids.size(), 8u);
    EXPECT_GE(workers.recycled(), 6u);
    EXPECT_EQ(workers.restarts(), 0u);
    for (pid_t pid : workers.map(std::views::iota(0, 100), {.chunk_size = 1})) pids.insert(pid);
    EXPECT_GE(pids.size(), 28u);
}

TEST(pool, close_join_and_terminate) {
    brood::pool<int, int> workers([](int x) { return x; }, {.workers = 2});
    auto pending = workers.submit(1);
    workers.close();
    EXPECT_THROW(workers.submit(2), std::logic_error);
    workers.join();  // the queued task still ran
    EXPECT_EQ(pending.get(), 1);
    EXPECT_TRUE(workers.worker_pids().empty());
}

TEST(pool, terminate_fails_unfinished_tasks_and_a_task_outlives_its_pool) {
    brood::task<int> slow;
    {
        brood::pool<int, int> workers(
            [](int x) {
                ::pause();
                return x;
            },
            {.workers = 1});
        slow = workers.submit(1);
        EXPECT_FALSE(slow.wait_for(20ms));
    }  // the destructor kills the busy worker
    try {
        slow.get();
        FAIL() << "no exception";
    } catch (const brood::task_failed& e) {
        EXPECT_EQ(e.why(), brood::task_failed::reason::pool_stopped);
    }
}

TEST(pool, wait_for_and_ready) {
    brood::pool<int, int> workers(
        [](int ms) {
            std::this_thread::sleep_for(std::chrono::milliseconds(ms));
            return ms;
        },
        {.workers = 1});
    auto t = workers.submit(300);
    EXPECT_FALSE(t.ready());
    EXPECT_FALSE(t.wait_for(10ms));
    EXPECT_TRUE(t.wait_for(10s));
    EXPECT_TRUE(t.ready());
    EXPECT_EQ(t.get(), 300);
    EXPECT_FALSE(t.valid());
}

// The worker reads the parent's data through the function's captures, copy-on-write.
TEST(pool, workers_read_the_parents_memory) {
    std::vector<std::uint64_t> table(1 << 20);
    std::iota(table.begin(), table.end(), 0);
    brood::pool<std::size_t, std::uint64_t> workers([&table](std::size_t i) { return table[i] * 2; }, {.workers = 2});
    const auto out = workers.map(std::vector<std::size_t>{0, 5, (1 << 20) - 1});
    EXPECT_EQ(out, (std::vector<std::uint64_t>{0, 10, ((1 << 20) - 1) * 2}));
}

TEST(pool, many_threads_submit_and_wait_at_once) {
    brood::pool<int, int> workers([](int x) { return x * x; }, {.workers = 2});
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 300; ++i) {
                const int x = t * 1000 + i;
                if (workers.submit(x).get() != x * x) ++wrong;
            }
            const auto out = workers.map(std::views::iota(0, 1000), {.chunk_size = 3});
            for (int i = 0; i < 1000; ++i)
                if (out[static_cast<std::size_t>(i)] != i * i) ++wrong;
        });
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(wrong.load(), 0);
}

// ------------------------------------------------------------------------------------ prefork server

brood::unique_fd listen_on_localhost() {
    brood::unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd.get(), 64) != 0)
        throw std::system_error(errno, std::generic_category(), "bind/listen on 127.0.0.1");
    return fd;
}

unsigned short port_of(int fd) {
    sockaddr_in address{};
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    return ntohs(address.sin_port);
}

// Connects, sends text, closes its sending side and returns everything the server sent back.
std::string exchange(unsigned short port, const std::string& text) {
    const brood::unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const timeval timeout{10, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return "<connect failed>";
    brood::detail::write_all(fd.get(), text.data(), text.size());
    ::shutdown(fd.get(), SHUT_WR);
    std::string reply;
    char buffer[4096];
    for (ssize_t n; (n = ::read(fd.get(), buffer, sizeof buffer)) > 0;) reply.append(buffer, static_cast<std::size_t>(n));
    return reply;
}

bool dead_or_gone(pid_t pid) {
    const auto info = brood::proc::read_process(pid);
    return !info || info->state == 'Z' || info->state == 'X';
}

void echo_worker(int listener, std::size_t) {
    for (;;) {
        const int connection = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (connection == -1) continue;
        char buffer[4096];
        for (ssize_t n; (n = ::read(connection, buffer, sizeof buffer)) > 0;)
            brood::detail::write_all(connection, buffer, static_cast<std::size_t>(n));
        ::close(connection);
    }
}

TEST(prefork_server, workers_share_the_listener_and_a_dead_one_is_replaced) {
    brood::unique_fd listener = listen_on_localhost();
    const unsigned short port = port_of(listener.get());
    brood::prefork_server server(std::move(listener), echo_worker, {.workers = 4, .backoff_initial = 10ms});
    std::vector<brood::worker_exit> exits;
    server.on_exit([&](const brood::worker_exit& e) { exits.push_back(e); });
    const auto pids = server.worker_pids();
    ASSERT_EQ(pids.size(), 4u);

    for (int i = 0; i < 100; ++i) {
        if (i == 50) {
            ASSERT_EQ(::kill(pids[2], SIGKILL), 0);  // mid-way; see the example's test for the wait
            for (int k = 0; k < 1000 && !dead_or_gone(pids[2]); ++k) std::this_thread::sleep_for(1ms);
        }
        const std::string text = "hello " + std::to_string(i);
        ASSERT_EQ(exchange(port, text), text);
    }
    for (int i = 0; i < 500 && server.restarts() == 0; ++i) server.run_for(10ms);
    ASSERT_EQ(server.restarts(), 1u);
    ASSERT_EQ(exits.size(), 1u);
    EXPECT_EQ(exits[0].worker, 2u);
    EXPECT_EQ(exits[0].pid, pids[2]);
    EXPECT_EQ(exits[0].status.signal(), SIGKILL);
    EXPECT_NE(server.worker_pids()[2], pids[2]);
    EXPECT_NE(server.worker_pids()[2], 0);
    for (int i = 0; i < 50; ++i) ASSERT_EQ(exchange(port, "again"), "again");
    server.stop();
    EXPECT_EQ(server.worker_pids(), std::vector<pid_t>(4, 0));
}

TEST(prefork_server, a_worker_that_keeps_dying_young_is_restarted_with_growing_delays) {
    brood::prefork_server server(listen_on_localhost(), [](int, std::size_t) { ::_exit(1); },
                                 {.workers = 1, .min_uptime = 10s, .backoff_initial = 5ms, .backoff_max = 20ms});
    std::vector<brood::worker_exit> exits;
    server.on_exit([&](const brood::worker_exit& e) { exits.push_back(e); });
    for (int i = 0; i < 200 && exits.size() < 5; ++i) server.run_for(10ms);
    ASSERT_GE(exits.size(), 5u);
    std::vector<long long> delays;
    for (std::size_t i = 0; i < 5; ++i) delays.push_back(exits[i].restart_delay.count());
    EXPECT_EQ(delays, (std::vector<long long>{5, 10, 20, 20, 20}));
    EXPECT_EQ(exits[0].status.code(), 1);
}

TEST(prefork_server, request_stop_ends_run) {
    brood::prefork_server server(listen_on_localhost(), echo_worker, {.workers = 2});
    std::thread stopper([&] {
        std::this_thread::sleep_for(20ms);
        server.request_stop();
    });
    server.run();
    stopper.join();
    EXPECT_TRUE(server.stop_requested());
    server.stop();
}

// A supervisor that blocks SIGTERM (to read it from a signalfd) still stops its workers with it at
// once, instead of waiting out stop_grace before SIGKILL; inherit_signals brings the wait back.
TEST(prefork_server, stop_is_quick_while_the_supervisor_blocks_sigterm) {
    caller_signals setup;
    const auto idle = [](int, std::size_t) {
        for (;;) ::pause();
    };
    {
        brood::prefork_server server(listen_on_localhost(), idle, {.workers = 2, .stop_grace = 2s});
        const auto start = std::chrono::steady_clock::now();
        server.stop();
        const auto took = std::chrono::steady_clock::now() - start;
        EXPECT_LT(took, 1s) << "the workers ignored SIGTERM: stop() waited out its grace";
    }
    {
        brood::prefork_server server(listen_on_localhost(), idle,
                                     {.workers = 1, .stop_grace = 200ms, .inherit_signals = true});
        const auto start = std::chrono::steady_clock::now();
        server.stop();
        EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms) << "a worker with SIGTERM blocked ended by it";
    }
}

// The example program, as a user would run it: many connections, a worker killed mid-way, SIGTERM.
TEST(prefork_server, example_echo_server_survives_a_killed_worker) {
    const std::string program = std::string(BROOD_EXAMPLES_DIR) + "/prefork_echo_server";
    if (::access(program.c_str(), X_OK) != 0) GTEST_SKIP() << program << " is not built";
    brood::child server = brood::command(program)
                              .arg("--workers")
                              .arg("4")
                              .process_group()
                              .set_stdout(brood::stdio::pipe())
                              .spawn();
    // Whatever fails below, the server and its workers (its process group) do not outlive the test.
    struct group_killer {
        pid_t group;
        ~group_killer() { ::kill(-group, SIGKILL); }
    } cleanup{server.pid()};

    // "listening on 127.0.0.1:PORT with 4 workers: ..." is its first line.
    std::string line;
    for (char c; line.find('\n') == std::string::npos && ::read(server.stdout_pipe().get(), &c, 1) == 1;) line += c;
    const auto colon = line.find("127.0.0.1:");
    ASSERT_NE(colon, std::string::npos) << line;
    const auto port = static_cast<unsigned short>(std::stoi(line.substr(colon + 10)));
    const auto workers = brood::proc::children_of(server.pid());
    ASSERT_EQ(workers.size(), 4u) << line;

    for (int i = 0; i < 200; ++i) {
        if (i == 100) {
            // Killed while it waits in accept(). Until it is dead the kernel may still hand it a
            // connection, which dies with it: wait for that, then no request may fail.
            ASSERT_EQ(::kill(workers[1], SIGKILL), 0);
            for (int k = 0; k < 1000 && !dead_or_gone(workers[1]); ++k) std::this_thread::sleep_for(1ms);
        }
        const std::string text = "request " + std::to_string(i);
        ASSERT_EQ(exchange(port, text), text);
    }
    // The supervisor notices and forks a replacement (50 ms backoff: the victim died young).
    std::vector<pid_t> now;
    for (int i = 0; i < 2000; ++i) {
        now = brood::proc::children_of(server.pid());
        if (now.size() == 4 && std::find(now.begin(), now.end(), workers[1]) == now.end()) break;
        std::this_thread::sleep_for(10ms);
    }
    ASSERT_EQ(now.size(), 4u);
    EXPECT_EQ(std::find(now.begin(), now.end(), workers[1]), now.end());
    for (int i = 0; i < 100; ++i) ASSERT_EQ(exchange(port, "more"), "more");

    ASSERT_TRUE(server.send_signal(SIGTERM));
    const auto status = server.wait_for(30s);
    ASSERT_TRUE(status);
    EXPECT_EQ(status->code(), 0);
    std::string rest;
    char buffer[512];
    for (ssize_t n; (n = ::read(server.stdout_pipe().get(), buffer, sizeof buffer)) > 0;)
        rest.append(buffer, static_cast<std::size_t>(n));
    EXPECT_NE(rest.find("killed by SIGKILL"), std::string::npos) << rest;
    EXPECT_NE(rest.find("stopped after 1 restarts"), std::string::npos) << rest;
    for (pid_t pid : now) EXPECT_FALSE(brood::proc::read_process(pid)) << "worker " << pid << " outlived the server";
}

// A supervisor that dies without stopping its workers takes them along (PR_SET_PDEATHSIG).
TEST(prefork_server, workers_die_with_their_supervisor) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    brood::unique_fd read_end(fds[0]), write_end(fds[1]);
    brood::child supervisor = brood::fork([&] {
        read_end.reset();
        brood::prefork_server server(listen_on_localhost(), echo_worker, {.workers = 2});
        for (pid_t pid : server.worker_pids()) brood::detail::write_all(write_end.get(), &pid, sizeof pid);
        ::pause();  // killed below, without stop()
    });
    write_end.reset();
    pid_t pids[2] = {0, 0};
    std::size_t got = 0;
    for (ssize_t n; got < sizeof pids && (n = ::read(read_end.get(), reinterpret_cast<char*>(pids) + got, sizeof pids - got)) > 0;)
        got += static_cast<std::size_t>(n);
    ASSERT_EQ(got, sizeof pids);
    supervisor.kill();
    supervisor.wait();
    // Reparented to init, which reaps it: gone, or a zombie until then; never running.
    for (pid_t pid : pids) {
        for (int i = 0; i < 1000 && !dead_or_gone(pid); ++i) std::this_thread::sleep_for(10ms);
        EXPECT_TRUE(dead_or_gone(pid)) << "worker " << pid << " outlived its supervisor";
        if (!dead_or_gone(pid)) ::kill(pid, SIGKILL);
    }
}

}  // namespace
