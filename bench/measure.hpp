// What the bench drivers share: leaving with a message, timing a batch, quantiles of samples,
// reading a comma-separated list of sizes from the command line, a field of /proc/PID/status, and
// where the no-op child is (CMake gives its path; outside it, noop_static in the current directory).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <errno.h>  // program_invocation_short_name
#include <sys/types.h>

#ifndef BENCH_NOOP_PATH
#define BENCH_NOOP_PATH "noop_static"
#endif

namespace brood_bench {

// Prints "<this program>: <what>" on stderr and exits 1.
[[noreturn]] inline void die(const std::string& what) {
    std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, what.c_str());
    std::exit(1);
}

// Calls once() n times; µs per call.
template <class F>
double timed(int n, F&& once) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) once();
    const std::chrono::duration<double, std::micro> d = std::chrono::steady_clock::now() - t0;
    return d.count() / n;
}

// The q-quantile (q in 0..1) of the samples, linear between neighbours.
inline double quantile(std::vector<double> samples, double q) {
    std::sort(samples.begin(), samples.end());
    const double pos = q * static_cast<double>(samples.size() - 1);
    const auto lo = static_cast<std::size_t>(pos);
    const std::size_t hi = std::min(lo + 1, samples.size() - 1);
    return samples[lo] + (samples[hi] - samples[lo]) * (pos - static_cast<double>(lo));
}

inline double median(std::vector<double> samples) { return quantile(std::move(samples), 0.5); }

// "brood,tini" -> {"brood", "tini"}.
inline std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    for (std::size_t start = 0;;) {
        const std::size_t comma = text.find(',', start);
        out.push_back(text.substr(start, comma - start));
        if (comma == std::string::npos) return out;
        start = comma + 1;
    }
}

// "100,1000,10000" -> {100, 1000, 10000}; throws std::invalid_argument on a word that is no number.
inline std::vector<std::size_t> parse_sizes(const std::string& text) {
    std::vector<std::size_t> out;
    for (const std::string& word : split_list(text)) out.push_back(std::stoul(word));
    return out;
}

// A numeric field of /proc/PID/status ("VmRSS", "RssAnon", "voluntary_ctxt_switches"...; sizes in
// KiB) of pid, or of this process when pid is 0; -1 if absent.
inline long status_field(const std::string& field, pid_t pid = 0) {
    std::ifstream status(pid == 0 ? std::string("/proc/self/status") : "/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
    return -1;
}

}  // namespace brood_bench
