// brood::monitor inside someone else's event loop: here a plain poll() loop that also reads an fd
// of its own (a child's stdout). mon.fd() is an epoll fd that is readable whenever the monitor has
// something to do; run_once(0ms) then does it without blocking and calls the handler.
//
// The same in other loops:
//   asio:  asio::posix::stream_descriptor sd(io, ::dup(mon.fd()));
//          sd.async_wait(asio::posix::stream_descriptor::wait_read, on_ready);  // on_ready: run_once(0ms), re-arm
//   libuv: uv_poll_init(loop, &handle, mon.fd()); uv_poll_start(&handle, UV_READABLE, on_ready);
//          // on_ready: mon.run_once(std::chrono::milliseconds(0));
// Call the monitor from the loop's thread only (it refuses other threads; post() is the way in).
//
// Prints, with times since start (pids vary):
//       0 ms  read from pipe: hello from a pipe
//       0 ms  talker  pid 4242  exited with code 0
//      50 ms  sleeper pid 4241  stopped by SIGSTOP
//     101 ms  shell   pid 4240  exited with code 3
//     150 ms  sleeper pid 4241  continued
//     250 ms  sleeper pid 4241  killed by SIGTERM
#include <brood/command.hpp>
#include <brood/monitor.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>

#include <poll.h>
#include <signal.h>
#include <unistd.h>

using namespace std::chrono_literals;

int main() {
    // report_stops reads SIGCHLD from a signalfd: block it before any thread exists, so every
    // thread inherits the mask and none of them swallows a SIGCHLD.
    brood::block_sigchld();
    brood::monitor mon({.report_stops = true});

    enum tag : std::uint64_t { shell = 1, sleeper, talker, pause_it, resume_it, end_it };
    const char* names[] = {"", "shell  ", "sleeper", "talker "};

    mon.watch(brood::command("sh").arg("-c").arg("sleep 0.1; exit 3").spawn(), shell);
    const auto sleeper_id = mon.watch(brood::command("sleep").arg("30").spawn(), sleeper);
    brood::child talking = brood::command("echo").arg("hello from a pipe").set_stdout(brood::stdio::pipe()).spawn();
    brood::unique_fd talk = std::move(talking.stdout_pipe());  // ours now: the loop below polls it
    mon.watch(std::move(talking), talker);

    const auto start = brood::monitor::clock::now();
    auto elapsed_ms = [&] {
        return static_cast<long long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(brood::monitor::clock::now() - start).count());
    };
    // A supervisor's deadlines live on the same loop: pause, resume, then end the sleeper.
    mon.add_timer(50ms, pause_it);
    mon.add_timer(150ms, resume_it);
    mon.add_timer(250ms, end_it);

    mon.on_event([&](const brood::monitor::event& e) {
        if (e.from == brood::monitor::source::timer) {
            brood::child* c = mon.find(sleeper_id);
            if (c == nullptr) return;
            if (e.tag == pause_it) c->stop();
            if (e.tag == resume_it) c->resume();
            if (e.tag == end_it) c->send_signal(SIGTERM);
            return;
        }
        std::printf("%6lld ms  %s pid %d  %s\n", elapsed_ms(), names[e.tag], static_cast<int>(e.pid),
                    e.status->to_string().c_str());
    });

    while (mon.watched() > 0 || talk) {
        pollfd fds[2] = {{mon.fd(), POLLIN, 0}, {talk.get(), POLLIN, 0}};
        const nfds_t count = talk ? 2 : 1;
        if (::poll(fds, count, -1) == -1) {
            if (errno == EINTR) continue;
            std::perror("poll");
            return 1;
        }
        if ((fds[0].revents & POLLIN) != 0) mon.run_once(0ms);
        if (count == 2 && fds[1].revents != 0) {
            char buffer[256];
            const ssize_t n = ::read(talk.get(), buffer, sizeof buffer);
            if (n <= 0) {
                talk.reset();
            } else {
                std::printf("%6lld ms  read from pipe: %.*s", elapsed_ms(), static_cast<int>(n), buffer);
            }
        }
    }
    return 0;
}
