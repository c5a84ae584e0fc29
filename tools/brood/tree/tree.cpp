// brood tree: the process tree with state, memory and copy-on-write sharing; zombies stand out.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <sys/ioctl.h>
#include <unistd.h>

#include <brood/proc.hpp>

#include "common/exit_codes.hpp"
#include "common/human_units.hpp"
#include "tree/process_tree.hpp"
#include "subcommands.hpp"

namespace brood::cli {

namespace {

struct tree_options {
    pid_t pid = 0;
    bool all = false;
    bool json = false;
};

// One line whatever the arguments hold: control characters are shown escaped.
std::string shown_command(const proc::process_info& info) {
    if (info.state == 'Z') return "[" + info.comm + "] <defunct>";
    if (info.cmdline.empty()) return "[" + info.comm + "]";  // kernel thread
    std::string text;
    for (const std::string& word : info.cmdline) {
        if (!text.empty()) text += ' ';
        for (unsigned char c : word) {
            if (c == '\n') text += "\\n";
            else if (c == '\t') text += "\\t";
            else if (c < 0x20 || c == 0x7f) text += fmt::format("\\x{:02x}", c);
            else text += static_cast<char>(c);
        }
    }
    return text;
}

class text_printer {
public:
    explicit text_printer(const process_forest& forest) : forest_(forest) {
        const char* no_color = std::getenv("NO_COLOR");
        const char* term = std::getenv("TERM");
        const bool terminal = ::isatty(STDOUT_FILENO);
        color_ = terminal && (no_color == nullptr || *no_color == '\0') && !(term != nullptr && std::string(term) == "dumb");
        // On a terminal, one line per process (as ps does); piped, the whole command line.
        winsize size{};
        if (terminal && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) width_ = size.ws_col;
    }

    void print() {
        fmt::print("{:>7} {:<12} {:>7} {:>7} {:>7}  {}\n", "PID", "STATE", "RSS", "PSS", "COW", "COMMAND");
        for (std::size_t root : forest_.roots) print(root, "", "");
        if (zombies_ > 0)
            fmt::print("\n{} zombie(s): exited, not yet reaped by their parent (marked Z!).\n", zombies_);
    }

private:
    void print(std::size_t at, const std::string& lead, const std::string& branch) {
        const tree_node& node = forest_.nodes[at];
        const bool zombie = node.info.state == 'Z';
        std::string state(proc::state_name(node.info.state));
        if (zombie) state = "Z! ZOMBIE", ++zombies_;
        const std::string rss = node.memory ? human_bytes(node.memory->rss) : "-";
        const std::string pss = node.memory ? human_bytes(node.memory->pss) : "-";
        std::string cow = "-";
        if (node.cow) cow = (node.cow->exact ? "" : "~") + human_bytes(node.cow->bytes);
        std::string command = lead + branch + shown_command(node.info);
        const std::string note =
            node.zombie_children > 0 ? fmt::format("  <- {} zombie child(ren) not reaped", node.zombie_children) : "";
        constexpr std::size_t columns_before_command = 46;
        if (width_ > columns_before_command + note.size() + 8 &&
            command.size() + note.size() > width_ - columns_before_command)
            command.resize(width_ - columns_before_command - note.size());
        command += note;
        const char* on = "";
        const char* off = "";
        if (color_ && zombie) on = "\033[1;31m", off = "\033[0m";
        else if (color_ && node.zombie_children > 0) on = "\033[1;33m", off = "\033[0m";
        fmt::print("{}{:>7} {:<12} {:>7} {:>7} {:>7}  {}{}\n", on, node.info.pid, state, rss, pss, cow, command, off);
        const std::string next_lead = lead + (branch.empty() ? "" : branch == "`- " ? "   " : "|  ");
        for (std::size_t i = 0; i < node.children.size(); ++i)
            print(node.children[i], next_lead, i + 1 == node.children.size() ? "`- " : "|- ");
    }

    const process_forest& forest_;
    bool color_ = false;
    std::size_t width_ = 0;  // 0: no limit
    std::size_t zombies_ = 0;
};

nlohmann::ordered_json to_json(const process_forest& forest, std::size_t at) {
    const tree_node& node = forest.nodes[at];
    nlohmann::ordered_json j;
    j["pid"] = node.info.pid;
    j["ppid"] = node.info.ppid;
    j["pgid"] = node.info.pgid;
    j["sid"] = node.info.sid;
    j["state"] = proc::state_name(node.info.state);
    j["zombie"] = node.info.state == 'Z';
    j["threads"] = node.info.threads;
    j["comm"] = node.info.comm;
    j["command"] = node.info.cmdline;
    j["rss"] = node.memory ? nlohmann::ordered_json(node.memory->rss) : nullptr;
    j["pss"] = node.memory ? nlohmann::ordered_json(node.memory->pss) : nullptr;
    j["cow_shared_with_parent"] = node.cow ? nlohmann::ordered_json(node.cow->bytes) : nullptr;
    j["cow_exact"] = node.cow ? node.cow->exact : false;
    j["zombie_children"] = node.zombie_children;
    j["children"] = nlohmann::ordered_json::array();
    for (std::size_t child : node.children) j["children"].push_back(to_json(forest, child));
    return j;
}

int tree_main(const tree_options& o) {
    tree_selection selection;
    if (o.all) {
        selection.what = tree_selection::kind::all;
    } else if (o.pid > 0) {
        selection = {tree_selection::kind::process, o.pid};
    } else {
        const std::optional<proc::process_info> parent = proc::read_process(::getppid());
        if (!parent) {
            fmt::print(stderr, "brood tree: cannot read brood's parent {} in /proc\n", ::getppid());
            return exit_failure;
        }
        selection = {tree_selection::kind::session, parent->sid};
    }
    const std::optional<process_forest> forest = snapshot(selection);
    if (!forest) {
        fmt::print(stderr, "brood tree: no process {}\n", o.pid);
        return exit_failure;
    }
    if (o.json) {
        nlohmann::ordered_json roots = nlohmann::ordered_json::array();
        for (std::size_t root : forest->roots) roots.push_back(to_json(*forest, root));
        const std::string text = roots.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
        fmt::print("{}\n", text);
    } else {
        text_printer(*forest).print();
    }
    return 0;
}

}  // namespace

subcommand add_tree_command(CLI::App& brood) {
    auto o = std::make_shared<tree_options>();
    CLI::App* tree = brood.add_subcommand(
        "tree",
        "Show the process tree under PID (default: the session of brood's parent, i.e. this\n"
        "terminal's processes) with each process's state, RSS, PSS, memory shared copy-on-write\n"
        "with its parent, and command. Zombies and their parents stand out.");
    tree->add_option("pid", o->pid, "Show the tree under this process (brood tree 1)")->check(CLI::PositiveNumber);
    tree->add_flag("--all", o->all, "Show every process on the system (brood tree --all)");
    tree->add_flag("--json", o->json,
                   "Print the tree as nested JSON objects, sizes in bytes (brood tree --json | jq '.[].pid')");
    tree->get_option("--all")->excludes(tree->get_option("pid"));
    tree->footer(
        "Columns: RSS resident memory; PSS proportional share (shared pages divided among their\n"
        "users); COW memory still shared copy-on-write with the parent (pages the parent maps too,\n"
        "read from /proc/PID/pagemap; '~' when not root: shared with some relative). 'Z!' marks a\n"
        "zombie, and its parent is marked as not reaping it.\n"
        "Examples:\n"
        "  brood tree            this session\n"
        "  brood tree 1 --json   everything under PID 1, as JSON");
    return {tree, [o] { return tree_main(*o); }};
}

}  // namespace brood::cli
