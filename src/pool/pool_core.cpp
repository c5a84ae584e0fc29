// The parent's side of brood::pool. One mutex guards everything; the thread that waits drives:
// it reads results, hands out queued tasks, refills the rings, and replaces workers that died.
// There is no thread of the pool's own (see docs/pool.md, "Who runs the pool").
#include <brood/pool/pool_core.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <stdexcept>

#include <poll.h>
#include <unistd.h>

#include <brood/child.hpp>
#include <brood/error.hpp>
#include <brood/fork.hpp>

#include "fork/fork_worker.hpp"
#include "pool/bell.hpp"
#include "pool/channel.hpp"
#include "pool/frame.hpp"
#include "pool/spin.hpp"
#include "pool/worker_main.hpp"

namespace brood::detail {
namespace {

constexpr std::size_t header_size = sizeof(frame_header);
// Workers dying in a row before their init finished, with none ready meanwhile: the pool gives up
// instead of forking forever.
constexpr std::size_t start_failure_limit = 3;
// An idle worker told to stop exits at once; this only bounds a worker stuck flushing its stdout.
constexpr std::chrono::milliseconds stop_grace{1000};

// Tasks [next, end) of a job, not sent yet, `chunk` to a message.
struct queued_tasks {
    std::shared_ptr<pool_job> job;
    std::size_t next;
    std::size_t end;
    std::size_t chunk;
    std::size_t in_flight;
};

// A message a worker has not answered yet.
struct sent_message {
    std::shared_ptr<pool_job> job;
    std::size_t first;
    std::uint32_t count;
    std::uint64_t seq;
    std::size_t in_flight;
};

struct worker_slot {
    std::size_t index = 0;
    child process;
    std::unique_ptr<channel> ring;
    std::deque<sent_message> sent;  // in the order the worker answers
    byte_buffer outbound;           // encoded messages not in the task ring yet, from outbound_done on
    std::size_t outbound_done = 0;
    std::optional<frame_header> gathering;  // a result larger than the ring, arriving in pieces
    byte_buffer gathered;
    std::size_t unread = 0;    // bytes of an incomplete result seen by the last look
    std::size_t assigned = 0;  // tasks given to this worker (recycling)
    bool retiring = false;

    bool alive() const noexcept { return ring != nullptr; }
    bool idle() const noexcept { return sent.empty(); }
};

std::string chunk_text(const sent_message& m) {
    if (m.count == 1) return {};
    return "its chunk was tasks " + std::to_string(m.first) + " to " + std::to_string(m.first + m.count - 1);
}

}  // namespace

struct pool_core::state {
    state(task_handler h, pool_options o) : handler(std::move(h)), options(std::move(o)), spin(options.spin) {}

    task_handler handler;
    pool_options options;
    unique_fd bell;  // workers ring it when the parent sleeps
    std::vector<worker_slot> slots;
    std::deque<queued_tasks> queue;
    std::uint64_t last_seq = 0;
    std::size_t restarts = 0;
    std::size_t recycled = 0;
    std::size_t start_failures = 0;
    std::size_t completions = 0;  // since waiting threads were last told
    bool closed = false;
    bool stopped = false;
    std::optional<task_failed> broken;  // the pool gave up starting workers
    adaptive_spin spin;
    std::vector<pollfd> sleep_fds;  // kept: no allocation per sleep
    std::vector<std::pair<worker_slot*, pid_t>> sleep_watched;

    std::mutex mutex;
    std::condition_variable turn;
    bool driving = false;

    static std::optional<std::size_t> index_of(const pool_job& job, std::size_t i) {
        return job.indexed() ? std::optional<std::size_t>(i) : std::nullopt;
    }

    void spawn(worker_slot& slot) {
        slot.sent.clear();
        slot.outbound.clear();
        slot.outbound_done = 0;
        slot.gathering.reset();
        slot.gathered.clear();
        slot.unread = 0;
        slot.assigned = 0;
        slot.retiring = false;
        slot.ring = std::make_unique<channel>(options.ring_bytes);
        const worker_context context{slot.ring.get(), slot.index, &handler, &options.init,
                                     options.spin,    bell.get(), ::getpid()};
        std::optional<child> kid;
        try {
            kid = fork_worker(options.inherit_signals);
        } catch (...) {
            slot.ring.reset();
            throw;
        }
        if (!kid) run_worker(context);
        if (kid->pidfd() < 0) {
            slot.ring.reset();
            throw std::runtime_error("brood::pool needs pidfd support (Linux 5.3 or later)");
        }
        slot.process = std::move(*kid);
    }

    void tell_waiters() {
        if (completions == 0) return;
        completions = 0;
        turn.notify_all();
    }

    void finish(pool_job& job, task_failed error) {
        if (job.finished()) return;
        job.fail(std::move(error));
        ++completions;
    }

    worker_slot* pick(std::size_t in_flight) {
        worker_slot* best = nullptr;
        for (auto& slot : slots)
            if (slot.alive() && !slot.retiring && slot.sent.size() < in_flight &&
                (best == nullptr || slot.sent.size() < best->sent.size()))
                best = &slot;
        return best;
    }

    // Encodes the next message of q into the slot's outbound buffer.
    void send_message(worker_slot& slot, queued_tasks& q) {
        const std::size_t first = q.next;
        const auto count = static_cast<std::uint32_t>(std::min(q.chunk, q.end - q.next));
        q.next += count;
        const std::size_t start = slot.outbound.size();
        byte_writer out(slot.outbound);
        out.put(frame_header{});
        out.put(count);
        try {
            q.job->encode(first, count, out);
            if (slot.outbound.size() - start - header_size > std::numeric_limits<std::uint32_t>::max())
                throw codec_error("a message is limited to 4 GiB");
        } catch (const std::exception& e) {
            slot.outbound.truncate(start);
            finish(*q.job, task_failed(task_failed::reason::bad_data, std::string("encoding failed: ") + e.what(),
                                       index_of(*q.job, first)));
            return;
        }
        const frame_header header{++last_seq, static_cast<std::uint32_t>(slot.outbound.size() - start - header_size),
                                  frame_kind::run};
        std::memcpy(slot.outbound.data() + start, &header, header_size);
        slot.sent.push_back({q.job, first, count, last_seq, q.in_flight});
        slot.assigned += count;
        if (options.max_tasks_per_worker != 0 && slot.assigned >= options.max_tasks_per_worker) slot.retiring = true;
    }

    void assign() {
        while (!queue.empty()) {
            queued_tasks& q = queue.front();
            if (q.next == q.end || q.job->finished()) {
                queue.pop_front();
                continue;
            }
            worker_slot* slot = pick(q.in_flight);
            if (slot == nullptr) return;
            send_message(*slot, q);
        }
    }

    void flush(worker_slot& slot) {
        if (!slot.alive() || slot.outbound_done == slot.outbound.size()) return;
        const std::size_t n = slot.ring->tasks().write_some(slot.outbound.data() + slot.outbound_done,
                                                            slot.outbound.size() - slot.outbound_done);
        if (n == 0) return;
        slot.outbound_done += n;
        if (slot.outbound_done == slot.outbound.size()) {
            slot.outbound.clear();
            slot.outbound_done = 0;
        }
        wake_if_sleeping(slot.ring->control().worker, slot.ring->worker_bell());
    }

    // False when the answer is not the one expected: the worker is killed, its death handled later.
    bool dispatch(worker_slot& slot, const frame_header& header, std::span<const std::byte> payload) {
        if (slot.sent.empty() || slot.sent.front().seq != header.seq ||
            (header.kind != frame_kind::done && header.kind != frame_kind::threw)) {
            slot.process.kill();  // only a worker whose memory got corrupted answers out of turn
            return false;
        }
        const sent_message m = std::move(slot.sent.front());
        slot.sent.pop_front();
        if (m.job->finished()) return true;
        ++completions;
        byte_reader in(payload);
        if (header.kind == frame_kind::threw) {
            const auto position = in.remaining() >= 4 ? in.get<std::uint32_t>() : 0;
            const auto text = in.read_bytes(in.remaining());
            m.job->fail(task_failed(task_failed::reason::threw,
                                    std::string(reinterpret_cast<const char*>(text.data()), text.size()),
                                    index_of(*m.job, m.first + position), slot.index, slot.process.pid()));
            return true;
        }
        try {
            m.job->complete(m.first, m.count, in);
        } catch (const std::exception& e) {
            m.job->fail(task_failed(task_failed::reason::bad_data, std::string("decoding the result failed: ") + e.what(),
                                    index_of(*m.job, m.first), slot.index, slot.process.pid()));
        }
        return true;
    }

    void read_results(worker_slot& slot) {
        if (!slot.alive()) return;
        byte_ring results = slot.ring->results();
        bool consumed = false;
        // What is left unread is what the last look saw: a frame published after it is news.
        slot.unread = 0;
        for (;;) {
            const auto bytes = results.readable();
            if (slot.gathering) {
                if (bytes.empty()) break;
                const std::size_t n = std::min(bytes.size(), slot.gathering->size - slot.gathered.size());
                slot.gathered.append(bytes.data(), n);
                results.consume(n);
                consumed = true;
                if (slot.gathered.size() < slot.gathering->size) continue;
                const frame_header header = *slot.gathering;
                slot.gathering.reset();
                if (!dispatch(slot, header, {slot.gathered.data(), slot.gathered.size()})) break;
                continue;
            }
            if (bytes.size() < header_size) {
                slot.unread = bytes.size();
                break;
            }
            frame_header header;
            std::memcpy(&header, bytes.data(), header_size);
            const std::size_t total = header_size + header.size;
            if (total > results.capacity()) {
                results.consume(header_size);
                consumed = true;
                slot.gathering = header;
                slot.gathered.clear();
                continue;
            }
            if (bytes.size() < total) {
                slot.unread = bytes.size();
                break;
            }
            if (!dispatch(slot, header, bytes.subspan(header_size, header.size))) break;
            results.consume(total);
            consumed = true;
        }
        if (consumed) wake_if_sleeping(slot.ring->control().worker, slot.ring->worker_bell());
    }

    // Stopping a worker: an idle one gets the stop message and exits 0 (its stdio flushed); one
    // still running a task is killed. Two steps, so that many workers stop in parallel.
    void begin_stop(worker_slot& slot) {
        if (!slot.alive()) return;
        if (slot.idle()) {
            byte_writer(slot.outbound).put(frame_header{++last_seq, 0, frame_kind::stop});
            flush(slot);
        } else {
            slot.process.kill();
        }
    }
    void end_stop(worker_slot& slot) {
        if (!slot.alive()) return;
        if (!slot.process.wait_for(stop_grace)) {
            slot.process.kill();
            slot.process.wait();
        }
        slot.process = child();
        slot.ring.reset();
    }

    void fail_everything(const task_failed& error) {
        for (auto& q : queue) finish(*q.job, error);
        queue.clear();
        for (auto& slot : slots) {
            for (auto& m : slot.sent) finish(*m.job, error);
        }
    }

    void stop_all(const task_failed& error) {
        closed = stopped = true;
        fail_everything(error);
        for (auto& slot : slots) begin_stop(slot);
        for (auto& slot : slots) end_stop(slot);
        for (auto& slot : slots) slot.sent.clear();
        completions = 1;
        tell_waiters();
    }

    bool any_ready() const {
        return std::any_of(slots.begin(), slots.end(), [](const worker_slot& s) {
            return s.alive() && s.ring->control().ready.load(std::memory_order_relaxed) != 0;
        });
    }

    void handle_death(worker_slot& slot, const wait_status& status) {
        read_results(slot);  // answers it sent before it died still count
        const channel_control& control = slot.ring->control();
        const bool ready = control.ready.load(std::memory_order_seq_cst) != 0;
        const std::uint64_t started = control.started.load(std::memory_order_seq_cst);
        const std::string init_error(control.init_error, ::strnlen(control.init_error, sizeof control.init_error));
        const pid_t pid = slot.process.pid();
        // Only the message it was running fails; what it had not started goes back to the head of
        // the queue, in order.
        for (auto it = slot.sent.rbegin(); it != slot.sent.rend(); ++it) {
            if (it->job->finished()) continue;
            if (ready && it->seq == started)
                finish(*it->job, task_failed(task_failed::reason::worker_died, chunk_text(*it),
                                             index_of(*it->job, it->first), slot.index, pid, status));
            else
                queue.push_front({it->job, it->first, it->first + it->count, it->count, it->in_flight});
        }
        slot.sent.clear();
        slot.process = child();
        slot.ring.reset();
        ++restarts;
        if (ready) {
            start_failures = 0;
        } else {
            start_failures = any_ready() ? 1 : start_failures + 1;
            if (start_failures >= start_failure_limit) {
                broken = task_failed(task_failed::reason::start_failed,
                                     init_error.empty() ? std::string() : "init threw: " + init_error, std::nullopt,
                                     slot.index, pid, status);
                stop_all(*broken);
            }
        }
    }

    void recycle(worker_slot& slot) {
        begin_stop(slot);
        end_stop(slot);
        ++recycled;
    }

    // Reads every answer, replaces retired workers, hands out queued tasks and refills the rings.
    void pump() {
        for (auto& slot : slots) read_results(slot);
        for (auto& slot : slots)
            if (slot.alive() && slot.retiring && slot.idle()) recycle(slot);
        for (auto& slot : slots)
            if (!slot.alive() && !stopped && (!closed || !queue.empty())) spawn(slot);
        assign();
        for (auto& slot : slots) flush(slot);
        tell_waiters();
    }

    bool has_news() const {
        for (const auto& slot : slots) {
            if (!slot.alive()) continue;
            if (slot.ring->results().readable().size() > slot.unread) return true;
            if (slot.outbound_done < slot.outbound.size() && slot.ring->tasks().free_space() > 0) return true;
        }
        return false;
    }

    bool idle() const {
        return queue.empty() && std::all_of(slots.begin(), slots.end(), [](const worker_slot& s) { return s.idle(); });
    }

    void set_sleeping(std::uint32_t value) {
        for (auto& slot : slots)
            if (slot.alive()) slot.ring->control().parent.sleeping.store(value, std::memory_order_seq_cst);
    }

    // The first ring of any worker since slept_at: when the event that woke the parent came.
    std::int64_t first_ring_since(std::int64_t slept_at) const {
        std::int64_t first = std::numeric_limits<std::int64_t>::max();
        for (const auto& slot : slots) {
            if (!slot.alive()) continue;
            const std::int64_t at = slot.ring->control().parent.rung_at.load(std::memory_order_relaxed);
            if (at >= slept_at) first = std::min(first, at);
        }
        return first;
    }

    // Spins for news from the workers, then sleeps (lock released) on the bell and the workers'
    // pidfds; handles the deaths it sees.
    void sleep_until_news(std::unique_lock<std::mutex>& lock, std::optional<clock::time_point> deadline) {
        std::chrono::nanoseconds budget = spin.budget();
        if (deadline) budget = std::min(budget, std::max(std::chrono::nanoseconds::zero(), *deadline - clock::now()));
        if (spin_until([&] { return has_news(); }, budget)) return;

        set_sleeping(1);
        if (has_news()) {
            set_sleeping(0);
            return;
        }
        sleep_fds.assign(1, {bell.get(), POLLIN, 0});
        sleep_watched.clear();
        for (auto& slot : slots) {
            if (!slot.alive()) continue;
            sleep_fds.push_back({slot.process.pidfd(), POLLIN, 0});
            sleep_watched.emplace_back(&slot, slot.process.pid());
        }
        int timeout = -1;
        if (deadline) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - clock::now());
            timeout = static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, std::numeric_limits<int>::max()));
        }
        const std::int64_t slept_at = now_ns();
        lock.unlock();
        const int n = ::poll(sleep_fds.data(), sleep_fds.size(), timeout);
        const int error = errno;
        lock.lock();
        if (n == -1 && error != EINTR) throw_errno(error, "poll on the pool's workers");
        // A worker's ring says when the news came; a death or a timeout says nothing about spinning.
        if (const std::int64_t rung = first_ring_since(slept_at); rung != std::numeric_limits<std::int64_t>::max())
            spin.slept(std::chrono::nanoseconds(rung - slept_at));
        drain_bell(bell.get());
        set_sleeping(0);
        if (stopped || n <= 0) return;
        for (std::size_t i = 0; i < sleep_watched.size(); ++i) {
            auto [slot, pid] = sleep_watched[i];
            if (sleep_fds[i + 1].revents == 0 || !slot->alive() || slot->process.pid() != pid) continue;
            if (auto status = slot->process.try_wait()) handle_death(*slot, *status);
        }
    }
};

pool_core::pool_core(task_handler handler, pool_options options)
    : state_(std::make_unique<state>(std::move(handler), std::move(options))) {
    auto& s = *state_;
    if (s.options.workers == 0) s.options.workers = available_cpus();
    s.options.max_in_flight = std::max<std::size_t>(s.options.max_in_flight, 1);
    s.bell = make_bell();
    s.slots.resize(s.options.workers);
    for (std::size_t i = 0; i < s.slots.size(); ++i) s.slots[i].index = i;
    for (auto& slot : s.slots) s.spawn(slot);
}

pool_core::~pool_core() { terminate(); }

void pool_core::enqueue(std::shared_ptr<pool_job> job, std::size_t count, std::size_t chunk, std::size_t in_flight) {
    std::lock_guard lock(state_->mutex);
    auto& s = *state_;
    if (s.broken) {
        s.finish(*job, *s.broken);
        s.tell_waiters();
        return;
    }
    if (s.closed) throw std::logic_error("brood::pool: the pool is closed: no more tasks");
    if (count == 0) return;
    s.queue.push_back({std::move(job), 0, count, std::max<std::size_t>(chunk, 1),
                       in_flight == 0 ? s.options.max_in_flight : in_flight});
    s.assign();
    for (auto& slot : s.slots) s.flush(slot);
    s.tell_waiters();
}

bool pool_core::wait(const std::function<bool()>& done, std::optional<clock::time_point> deadline) {
    std::unique_lock lock(state_->mutex);
    auto& s = *state_;
    for (;;) {
        if (done()) return true;
        if (!s.driving) break;
        if (deadline && clock::now() >= *deadline) return false;
        if (deadline)
            s.turn.wait_until(lock, *deadline);
        else
            s.turn.wait(lock);
    }
    s.driving = true;
    struct hand_over {
        state& s;
        ~hand_over() {
            s.driving = false;
            s.turn.notify_all();
        }
    } turn{s};
    for (;;) {
        s.pump();
        if (done()) return true;
        if (deadline && clock::now() >= *deadline) return false;
        if (s.idle()) throw std::logic_error("brood::pool: waiting for a task this pool does not have");
        s.sleep_until_news(lock, deadline);
    }
}

void pool_core::abandon(pool_job& job) {
    std::lock_guard lock(state_->mutex);
    state_->finish(job, task_failed(task_failed::reason::pool_stopped, {}));
    state_->tell_waiters();
}

void pool_core::close() {
    std::lock_guard lock(state_->mutex);
    state_->closed = true;
}

void pool_core::join() {
    close();
    wait([this] { return state_->idle(); });
    std::lock_guard lock(state_->mutex);
    if (!state_->stopped) state_->stop_all(task_failed(task_failed::reason::pool_stopped, {}));
}

void pool_core::terminate() {
    std::lock_guard lock(state_->mutex);
    if (!state_->stopped) state_->stop_all(task_failed(task_failed::reason::pool_stopped, {}));
}

std::size_t pool_core::workers() const noexcept { return state_->slots.size(); }

std::vector<pid_t> pool_core::worker_pids() const {
    std::lock_guard lock(state_->mutex);
    std::vector<pid_t> pids;
    for (const auto& slot : state_->slots)
        if (slot.alive()) pids.push_back(slot.process.pid());
    return pids;
}

std::size_t pool_core::restarts() const {
    std::lock_guard lock(state_->mutex);
    return state_->restarts;
}

std::size_t pool_core::recycled() const {
    std::lock_guard lock(state_->mutex);
    return state_->recycled;
}

std::size_t pool_core::in_flight() const {
    std::lock_guard lock(state_->mutex);
    std::size_t n = 0;
    for (const auto& slot : state_->slots) n += slot.sent.size();
    return n;
}

}  // namespace brood::detail
