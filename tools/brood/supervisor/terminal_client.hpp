// A brood attach client's connection, joined to an instance's pseudo-terminal by relaying: what
// the client sends is written to the terminal's master, as typed keys; what the program shows is
// sent to the client by show(), called with every byte the output relay reads from the master.
// brood keeps reading the terminal into the log the whole time, attached or not, so the log is
// complete (docs/supervisor.md, "Interactive programs").
//
//   terminal_client client(loop, std::move(socket), pty.master(), "web.0", [&] { /* it left */ });
//   relay's mirror: [&](std::string_view bytes) { client.show(bytes); }
//   client.end("another client attached");   // says why on the client's terminal, then closes
//
// Neither side can hold up brood's loop. Keys the terminal does not take at once (its input queue
// full: the program is not reading) wait here, and the client's socket is not read until they are
// written, so a client that types faster than the program reads waits in its own send. What waits
// for a client that does not read is bounded (1 MiB, as the control socket's replies): past it the
// client is detached, and the log still has everything.
//
// gone is called, once, when the client leaves by itself (it closed the connection, or it broke)
// or was detached for not keeping up; not after end(), and not from the constructor (see left()).
// The object may be destroyed from gone.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include <brood/monitor.hpp>
#include <brood/unique_fd.hpp>

namespace brood::supervisor {

class terminal_client {
public:
    static constexpr std::size_t max_waiting_output = 1 << 20;

    // socket: the client's connection, non-blocking; unsent: what the control server had not yet
    // written to it (the attach reply); typed: what the client sent after its attach request.
    terminal_client(brood::monitor& loop, unique_fd socket, int master, std::string instance, std::string unsent,
                    std::string typed, std::function<void()> gone);
    ~terminal_client();
    terminal_client(const terminal_client&) = delete;
    terminal_client& operator=(const terminal_client&) = delete;

    void show(std::string_view bytes);
    // Detaches the client, telling it why in a line of its terminal: "[brood: web.0: why]".
    void end(std::string_view why);
    // It has left already (the constructor found the connection broken): gone will not be called.
    bool left() const { return left_; }

private:
    void on_socket(std::uint32_t revents);
    void on_master_writable();
    void read_keys();
    void write_keys();
    void flush();
    void watch();
    void leave();
    void report_gone();

    brood::monitor& loop_;
    unique_fd socket_;
    int master_;
    std::string instance_;
    std::function<void()> gone_;
    std::string output_;      // for the client, from sent on
    std::size_t sent_ = 0;
    std::string keys_;        // typed, not yet taken by the terminal
    std::uint32_t watched_ = 0;
    bool master_watched_ = false;
    bool left_ = false;
    bool gone_pending_ = false;
};

}  // namespace brood::supervisor
