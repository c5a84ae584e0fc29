// prefork_echo_server: the Apache prefork / gunicorn model with brood::prefork_server.
//
//   prefork_echo_server [--port N] [--workers N]      (port 0, the default, picks a free one)
//
// The parent opens one listening socket on 127.0.0.1, then forks the workers; each accepts on that
// same socket (the kernel hands every connection to one of them) and echoes back what the client
// sends until the client closes its side. Kill a worker (kill -9 <pid>) and the supervisor starts a
// new one; SIGTERM or Ctrl-C stops the workers (SIGTERM, then SIGKILL after a grace) and exits 0.
//
//   $ ./prefork_echo_server --workers 4 &
//   listening on 127.0.0.1:40123 with 4 workers: 5001 5002 5003 5004
//   $ echo hello | nc -q1 127.0.0.1 40123
//   hello
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <brood/error.hpp>
#include <brood/pool.hpp>

namespace {

brood::prefork_server* running = nullptr;

// The supervisor's handler only: workers start with every handled signal back to its default, so
// stop()'s SIGTERM ends them. request_stop() is async-signal-safe.
void on_stop_signal(int) { running->request_stop(); }

brood::unique_fd listen_on_localhost(unsigned short port) {
    brood::unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) brood::throw_errno(errno, "socket");
    const int on = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == -1)
        brood::throw_errno(errno, "bind 127.0.0.1:" + std::to_string(port));
    if (::listen(fd.get(), 128) == -1) brood::throw_errno(errno, "listen");
    return fd;
}

unsigned short port_of(int fd) {
    sockaddr_in address{};
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    return ntohs(address.sin_port);
}

void echo(int connection) {
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(connection, buffer, sizeof buffer);
        if (n == -1 && errno == EINTR) continue;
        if (n <= 0) return;
        for (ssize_t done = 0; done < n;) {
            const ssize_t w = ::write(connection, buffer + done, static_cast<std::size_t>(n - done));
            if (w == -1 && errno == EINTR) continue;
            if (w <= 0) return;
            done += w;
        }
    }
}

// Runs in each forked worker: accept, echo, close, forever. It leaves by a signal.
void worker(int listener, std::size_t) {
    std::signal(SIGPIPE, SIG_IGN);  // a client that vanishes must not kill the worker
    for (;;) {
        const int connection = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (connection == -1) continue;  // EINTR, ECONNABORTED: take the next one
        echo(connection);
        ::close(connection);
    }
}

}  // namespace

int main(int argc, char** argv) {
    unsigned long port = 0;
    std::size_t workers = 4;
    for (int i = 1; i < argc; ++i) {
        const std::string option = argv[i];
        if (option == "--port" && i + 1 < argc) {
            port = std::strtoul(argv[++i], nullptr, 10);
        } else if (option == "--workers" && i + 1 < argc) {
            workers = std::strtoul(argv[++i], nullptr, 10);
        } else {
            std::fprintf(stderr, "usage: prefork_echo_server [--port N] [--workers N]\n");
            return 2;
        }
    }
    if (port > 65535 || workers == 0 || workers > 256) {
        std::fprintf(stderr, "prefork_echo_server: --port 0..65535, --workers 1..256\n");
        return 2;
    }

    brood::unique_fd listener = listen_on_localhost(static_cast<unsigned short>(port));
    const unsigned short bound = port_of(listener.get());
    brood::prefork_server server(std::move(listener), worker,
                                 {.workers = workers, .backoff_initial = std::chrono::milliseconds(50)});
    server.on_exit([](const brood::worker_exit& e) {
        std::printf("worker %zu (pid %d) %s after %lld ms; restarting in %lld ms\n", e.worker, static_cast<int>(e.pid),
                    e.status.to_string().c_str(), static_cast<long long>(e.uptime.count()),
                    static_cast<long long>(e.restart_delay.count()));
        std::fflush(stdout);
    });
    running = &server;
    std::signal(SIGTERM, on_stop_signal);
    std::signal(SIGINT, on_stop_signal);

    std::printf("listening on 127.0.0.1:%u with %zu workers:", bound, workers);
    for (pid_t pid : server.worker_pids()) std::printf(" %d", static_cast<int>(pid));
    std::printf("\n");
    std::fflush(stdout);

    server.run();
    server.stop();
    std::printf("stopped after %zu restarts\n", server.restarts());
    return 0;
}
