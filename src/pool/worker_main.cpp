#include "pool/worker_main.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>

#include <poll.h>
#include <unistd.h>

#include <brood/fork.hpp>

#include "child/pidfd.hpp"
#include "pool/bell.hpp"
#include "pool/frame.hpp"
#include "pool/spin.hpp"

namespace brood::detail {
namespace {

constexpr std::size_t header_size = sizeof(frame_header);

class worker {
public:
    explicit worker(const worker_context& context)
        : context_(context),
          control_(context.ring->control()),
          tasks_(context.ring->tasks()),
          results_(context.ring->results()),
          spin_(context.spin) {}

    [[noreturn]] void run() {
        // Watch the parent: a worker must not outlive the pool's process. If the parent is
        // already gone, getppid() no longer names it.
        parent_ = unique_fd(open_pidfd(context_.parent));
        if (::getppid() != context_.parent) exit_child(0);
        init();
        control_.ready.store(1, std::memory_order_seq_cst);
        for (;;) serve_one();
    }

private:
    void init() {
        if (!*context_.init) return;
        try {
            (*context_.init)(context_.index);
        } catch (const std::exception& e) {
            record_init_error(e.what());
            throw;  // exit_after_exception prints it and exits with code 70
        } catch (...) {
            record_init_error("unknown exception");
            throw;
        }
    }

    void record_init_error(const char* what) noexcept {
        char* out = control_.init_error;
        const std::size_t n = std::min(std::strlen(what), sizeof control_.init_error - 1);
        std::memcpy(out, what, n);
        out[n] = '\0';
    }

    void serve_one() {
        wait_until([&] { return tasks_.readable().size() >= header_size; });
        frame_header header;
        std::memcpy(&header, tasks_.readable().data(), header_size);
        if (header.kind == frame_kind::stop) exit_child(0);

        // A message that fits in the ring is decoded where it lies; a larger one is gathered.
        const std::size_t total = header_size + header.size;
        const bool in_place = total <= tasks_.capacity();
        std::span<const std::byte> payload;
        if (in_place) {
            wait_until([&] { return tasks_.readable().size() >= total; });
            payload = tasks_.readable().subspan(header_size, header.size);
        } else {
            consume_tasks(header_size);
            gather(header.size);
            payload = {large_.data(), large_.size()};
        }

        control_.started.store(header.seq, std::memory_order_seq_cst);
        run(header.seq, payload);
        if (in_place) consume_tasks(total);
        send();
    }

    void gather(std::size_t size) {
        large_.clear();
        while (large_.size() < size) {
            wait_until([&] { return !tasks_.readable().empty(); });
            const auto bytes = tasks_.readable();
            const std::size_t n = std::min(bytes.size(), size - large_.size());
            large_.append(bytes.data(), n);
            consume_tasks(n);
        }
    }

    void consume_tasks(std::size_t n) {
        tasks_.consume(n);
        wake_if_sleeping(control_.parent, context_.parent_bell);  // it may wait for room
    }

    // Encodes the reply into reply_: a header, then results or the exception.
    void run(std::uint64_t seq, std::span<const std::byte> payload) {
        frame_kind kind = frame_kind::done;
        begin_reply();
        byte_writer out(reply_);
        try {
            byte_reader in(payload);
            const auto count = in.get<std::uint32_t>();
            (*context_.handler)(in, count, out);
        } catch (const task_threw& e) {
            kind = frame_kind::threw;
            begin_reply();
            out.put(e.index);
            out.write(e.message.data(), e.message.size());
        } catch (const std::exception& e) {
            kind = frame_kind::threw;
            begin_reply();
            out.put(std::uint32_t{0});
            out.write(e.what(), std::strlen(e.what()));
        }
        const frame_header header{seq, static_cast<std::uint32_t>(reply_.size() - header_size), kind};
        std::memcpy(reply_.data(), &header, header_size);
    }

    void begin_reply() {
        reply_.clear();
        reply_.reserve_tail(header_size);
        reply_.commit(header_size);
    }

    void send() {
        const std::byte* next = reply_.data();
        std::size_t left = reply_.size();
        while (left > 0) {
            const std::size_t n = results_.write_some(next, left);
            if (n == 0) {
                wait_until([&] { return results_.free_space() > 0; });
                continue;
            }
            next += n;
            left -= n;
            wake_if_sleeping(control_.parent, context_.parent_bell);
        }
    }

    // Spins, then sleeps on the bell until ready(). Exits if the parent is gone.
    template <class Ready>
    void wait_until(Ready ready) {
        if (spin_until(ready, spin_.budget())) return;
        const std::int64_t slept_at = now_ns();
        for (;;) {
            control_.worker.sleeping.store(1, std::memory_order_seq_cst);
            if (ready()) {
                control_.worker.sleeping.store(0, std::memory_order_relaxed);
                return;
            }
            pollfd fds[2] = {{context_.ring->worker_bell(), POLLIN, 0}, {parent_.get(), POLLIN, 0}};
            // Without a pidfd (kernel < 5.3), look at getppid() every second instead.
            const int n = ::poll(fds, parent_ ? 2 : 1, parent_ ? -1 : 1000);
            if (n == -1 && errno != EINTR) exit_child(1);
            if (parent_ ? (fds[1].revents & POLLIN) != 0 : ::getppid() != context_.parent) exit_child(0);
            drain_bell(context_.ring->worker_bell());
            control_.worker.sleeping.store(0, std::memory_order_relaxed);
            if (ready()) break;
        }
        spin_.slept(std::chrono::nanoseconds(control_.worker.rung_at.load(std::memory_order_relaxed) - slept_at));
    }

    const worker_context& context_;
    channel_control& control_;
    byte_ring tasks_;
    byte_ring results_;
    adaptive_spin spin_;
    unique_fd parent_;
    byte_buffer large_;
    byte_buffer reply_;
};

}  // namespace

void run_worker(const worker_context& context) noexcept {
    try {
        worker(context).run();
    } catch (...) {
        exit_after_exception(std::current_exception());
    }
}

}  // namespace brood::detail
