#include "control/verb_goal.hpp"

#include <algorithm>

namespace brood::control {

namespace {

std::string text_of(const nlohmann::json& value) { return value.is_string() ? value.get<std::string>() : ""; }

// A job that ended by itself with code 0 has done what a start asked of it.
bool clean_end(const std::string& state, const std::string& note) {
    return state == "exited" && note.find("exited with code 0") != std::string::npos;
}

}  // namespace

verb_goal::kind verb_goal::for_verb(const std::string& verb) {
    if (verb == "stop") return kind::stop;
    if (verb == "restart") return kind::restart;
    return kind::start;
}

verb_goal::verb_goal(kind k, const nlohmann::json& status) : kind_(k) {
    for (const nlohmann::json& i : status.value("instances", nlohmann::json::array())) {
        progress& p = instances_[i.value("name", "")];
        p.state = i.value("state", "");
        p.note = text_of(i.value("start_error", nlohmann::json()));
        if (p.note.empty()) p.note = text_of(i.value("last_exit", nlohmann::json()));
    }
}

void verb_goal::apply(const nlohmann::json& event) {
    if (!event.contains("to")) return;
    progress& p = instances_[event.value("name", "")];
    p.state = event.value("to", "");
    p.note = text_of(event.value("note", nlohmann::json()));
    if (p.state == "starting") p.new_run = true;
}

void verb_goal::target(const nlohmann::json& names) {
    for (const nlohmann::json& name : names) {
        targets_.push_back(name.get<std::string>());
        instances_[targets_.back()];  // known from now on, even if the snapshot did not have it
    }
}

bool verb_goal::reached(const progress& p) const {
    switch (kind_) {
        case kind::stop: return p.state == "stopped" || p.state == "exited" || p.state == "fatal";
        case kind::restart:
            if (!p.new_run) return false;
            [[fallthrough]];
        case kind::start: return p.state == "running" || p.state == "ready" || clean_end(p.state, p.note);
    }
    return false;
}

bool verb_goal::failed(const progress& p) const {
    if (kind_ == kind::stop || (kind_ == kind::restart && !p.new_run)) return false;
    if (p.state == "backoff" || p.state == "fatal") return true;
    return p.state == "exited" && !clean_end(p.state, p.note);
}

bool verb_goal::settled() const {
    return std::all_of(targets_.begin(), targets_.end(), [&](const std::string& name) {
        const progress& p = instances_.at(name);
        return reached(p) || failed(p);
    });
}

bool verb_goal::any_failed() const {
    return std::any_of(targets_.begin(), targets_.end(), [&](const std::string& name) {
        const progress& p = instances_.at(name);
        return !reached(p);
    });
}

std::vector<std::string> verb_goal::report() const {
    std::vector<std::string> lines;
    for (const std::string& name : targets_) {
        const progress& p = instances_.at(name);
        std::string line = name + ": " + p.state;
        if (!reached(p) && !failed(p)) line += " (not there yet)";
        else if (!p.note.empty() && p.state != "ready" && p.state != "running") line += " (" + p.note + ")";
        lines.push_back(line);
    }
    return lines;
}

}  // namespace brood::control
