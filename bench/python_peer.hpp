// A bench driver's Python helper in --serve mode (spawn_python.py, pool_python.py): it writes one
// greeting line, then answers each request line with one number; "quit" ends it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <brood/command.hpp>

#include "measure.hpp"

namespace brood_bench {

class python_peer {
public:
    // Starts PYTHON SCRIPT --serve EXTRA... and reads its greeting.
    python_peer(const std::string& python, const std::string& script, const std::vector<std::string>& extra = {}) {
        process_ = brood::command(python)
                       .arg(script)
                       .arg("--serve")
                       .args(extra)
                       .set_stdin(brood::stdio::pipe())
                       .set_stdout(brood::stdio::pipe())
                       .spawn();
        to_ = ::fdopen(process_.stdin_pipe().release(), "w");
        from_ = ::fdopen(process_.stdout_pipe().release(), "r");
        greeting_ = line();
    }
    ~python_peer() {
        std::fputs("quit\n", to_);
        std::fclose(to_);
        std::fclose(from_);
        process_.wait();
    }
    python_peer(const python_peer&) = delete;
    python_peer& operator=(const python_peer&) = delete;

    const std::string& greeting() const { return greeting_; }
    double ask(const std::string& request) {
        std::fprintf(to_, "%s\n", request.c_str());
        std::fflush(to_);
        const std::string reply = line();
        char* end = nullptr;
        const double value = std::strtod(reply.c_str(), &end);
        if (end == reply.c_str()) die("python helper: " + reply);
        return value;
    }

private:
    std::string line() {
        char buffer[512];
        if (!std::fgets(buffer, sizeof buffer, from_)) die("the python helper exited");
        std::string text(buffer);
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
        return text;
    }
    brood::child process_;
    FILE* to_ = nullptr;
    FILE* from_ = nullptr;
    std::string greeting_;
};

}  // namespace brood_bench
