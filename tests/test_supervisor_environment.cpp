// What a program's environment is made of: env files in the dotenv format, ${VAR} expansion, and
// the order in which brood's environment, env files and the environment table win; and who it runs
// as (user, group, umask), resolved when the configuration loads. No supervised processes.
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <brood/error.hpp>
#include <brood/fork.hpp>
#include <brood/unique_fd.hpp>

#include <brood/cgroup.hpp>

#include "supervisor/cgroup_limits.hpp"
#include "supervisor/config.hpp"
#include "supervisor/env_file.hpp"
#include "supervisor/out_of_memory.hpp"
#include "supervisor/toml_config.hpp"
#include "supervisor/variable_expansion.hpp"
#include "support/temp_dir.hpp"
#include "support/user_database.hpp"

using namespace brood::supervisor;
using variables = std::map<std::string, std::string>;

namespace {

std::vector<std::string> messages(const std::vector<problem>& problems) {
    std::vector<std::string> out;
    for (const problem& p : problems) out.push_back(to_string(p));
    return out;
}

variables parsed(std::string_view text) {
    env_file_content content = parse_env_file(text, ".env");
    EXPECT_EQ(messages(content.problems), std::vector<std::string>{});
    return content.variables;
}

std::vector<std::string> env_problems(std::string_view text) { return messages(parse_env_file(text, ".env").problems); }

expansion expanded(std::string_view text) {
    const variables set{{"HOME", "/home/ann"}, {"EMPTY", ""}, {"SELF", "${SELF}"}};
    return expand_variables(text, [&](std::string_view name) -> std::optional<std::string> {
        const auto it = set.find(std::string(name));
        if (it == set.end()) return std::nullopt;
        return it->second;
    });
}

// A directory of the test's own, and files written into it as given (binary: CRLF stays CRLF).
class temp_dir : public brood::testing::temp_dir {
public:
    temp_dir() : brood::testing::temp_dir("env") {}
    std::filesystem::path write(const std::string& name, std::string_view text) const {
        std::ofstream(path() / name, std::ios::binary) << text;
        return path() / name;
    }
};

}  // namespace

// ---- env files ----

TEST(env_file, plain_export_and_empty_values) {
    EXPECT_EQ(parsed("A=1\nexport B=two words\nC=\n  D = spaced  \nexport\tE=tab\n"),
              (variables{{"A", "1"}, {"B", "two words"}, {"C", ""}, {"D", "spaced"}, {"E", "tab"}}));
}

TEST(env_file, equals_signs_in_values_stay) {
    EXPECT_EQ(parsed("URL=postgres://u:p@h/db?sslmode=require&a=b\nX==\n"),
              (variables{{"URL", "postgres://u:p@h/db?sslmode=require&a=b"}, {"X", "="}}));
}

TEST(env_file, no_final_newline_crlf_and_bom) {
    EXPECT_EQ(parsed("A=1\nB=2"), (variables{{"A", "1"}, {"B", "2"}}));
    EXPECT_EQ(parsed("A=1\r\nB=\"q\"\r\n"), (variables{{"A", "1"}, {"B", "q"}}));
    EXPECT_EQ(parsed("\xEF\xBB\xBF" "A=1\n"), (variables{{"A", "1"}}));
}

TEST(env_file, a_key_given_twice_keeps_its_later_value) {
    EXPECT_EQ(parsed("A=first\nB=x\nA=second\n"), (variables{{"A", "second"}, {"B", "x"}}));
}

TEST(env_file, comments) {
    EXPECT_EQ(parsed("# a comment\n   # indented\n\nA=1 # after a blank\nB=x#y\nC='#' # c\nD=\"a # b\"\n"),
              (variables{{"A", "1"}, {"B", "x#y"}, {"C", "#"}, {"D", "a # b"}}));
}

TEST(env_file, quotes) {
    EXPECT_EQ(parsed("S='a \\n $X \"b\"'\nD=\"tab\\there \\\"q\\\" back\\\\slash \\q\"\nE=''\nF=\"\"\n"),
              (variables{{"S", "a \\n $X \"b\""}, {"D", "tab\there \"q\" back\\slash \\q"}, {"E", ""}, {"F", ""}}));
    // A quoted value may span lines; CRLF inside it is one newline.
    EXPECT_EQ(parsed("KEY=\"-----BEGIN\r\nabc\r\n-----END\"\r\nNEXT=1\n"),
              (variables{{"KEY", "-----BEGIN\nabc\n-----END"}, {"NEXT", "1"}}));
}

TEST(env_file, problems_name_file_and_line) {
    EXPECT_EQ(env_problems("A=1\nnot an assignment\n"), std::vector<std::string>{".env:2: expected KEY=value"});
    EXPECT_EQ(env_problems("1A=x\nA-B=y\n"),
              (std::vector<std::string>{
                  ".env:1: \"1A\" is not a variable name (letters, digits and _, not starting with a digit)",
                  ".env:2: \"A-B\" is not a variable name (letters, digits and _, not starting with a digit)"}));
    EXPECT_EQ(env_problems("A=1\nB=\"open\nC=2\n"), std::vector<std::string>{".env:2: unterminated double quote"});
    EXPECT_EQ(env_problems("B='x' y\n"), std::vector<std::string>{".env:1: unexpected text after the closing quote: \"y\""});
}

TEST(env_file, binary_unreadable_and_too_large_files_are_refused) {
    temp_dir dir;
    const auto binary = dir.write("bin.env", std::string("A=1\nB=\x7f" "ELF\0\0\n", 12));
    EXPECT_EQ(messages(read_env_file(binary, "bin.env").problems),
              std::vector<std::string>{"bin.env:2: a NUL byte: this is a binary file, not KEY=value lines"});

    EXPECT_EQ(messages(read_env_file(dir.path() / "missing", "missing").problems),
              std::vector<std::string>{"missing: cannot read: ENOENT: No such file or directory"});
    EXPECT_EQ(messages(read_env_file(dir.path(), "dir").problems),
              std::vector<std::string>{"dir: cannot read: EISDIR: Is a directory"});
    if (::geteuid() != 0) {  // root reads a file whatever its mode
        const auto secret = dir.write("secret.env", "A=1\n");
        ::chmod(secret.c_str(), 0);
        EXPECT_EQ(messages(read_env_file(secret, "secret.env").problems),
                  std::vector<std::string>{"secret.env: cannot read: EACCES: Permission denied"});
    }

    const auto large = dir.write("large.env", std::string(10 * 1024 * 1024, 'A'));
    EXPECT_EQ(messages(read_env_file(large, "large.env").problems),
              std::vector<std::string>{"large.env: larger than 1 MiB: an environment file is a few KEY=value lines"});
    const auto limit = dir.write("limit.env", "A=" + std::string(max_env_file_size - 3, 'x') + "\n");
    EXPECT_EQ(read_env_file(limit, "limit.env").variables.at("A").size(), max_env_file_size - 3);
}

// ---- ${VAR} ----

TEST(variable_expansion, braces_defaults_and_dollar_dollar) {
    EXPECT_EQ(expanded("${HOME}/bin").text, "/home/ann/bin");
    EXPECT_EQ(expanded("${MISSING:-/opt}|${EMPTY:-empty}|${HOME:-x}|${EMPTY}").text, "/opt|empty|/home/ann|");
    EXPECT_EQ(expanded("$$HOME costs $$5, $$${HOME}").text, "$HOME costs $5, $/home/ann");
    // Anything else with a '$' is left for a shell.
    EXPECT_EQ(expanded("$HOME $1 $(date) ${HOME}$").text, "$HOME $1 $(date) /home/ann$");
    EXPECT_EQ(expanded("${MISSING:-${HOME}}").text, "${HOME}");  // a default is taken as written, up to the first }
}

TEST(variable_expansion, errors) {
    EXPECT_EQ(expanded("x ${MISSING} y").error, "${MISSING}: MISSING is not set (give a default: ${MISSING:-value})");
    EXPECT_EQ(expanded("${HOME").error, "\"${\" without its closing '}' (write $$ for a '$')");
    EXPECT_EQ(expanded("${A B}").error, "\"${A B}\": expected ${NAME} or ${NAME:-default}, NAME of letters, digits and _");
    EXPECT_EQ(expanded("${}").error, "\"${}\": expected ${NAME} or ${NAME:-default}, NAME of letters, digits and _");
}

TEST(variable_expansion, a_value_is_never_expanded_again) {
    // SELF's value is "${SELF}": one pass, so it comes out as written and nothing loops.
    EXPECT_EQ(expanded("${SELF}").text, "${SELF}");
}

// ---- brood.toml: env_file, environment, precedence ----

TEST(toml_environment, precedence_brood_then_env_files_then_the_table) {
    temp_dir dir;
    dir.write("a.env", "FROM_A=a\nSHARED=a\nOVERRIDDEN=a\n");
    dir.write("b.env", "SHARED=b\nOVERRIDDEN=b\n");
    const auto toml = dir.write("brood.toml", R"(
[programs.web]
command = ["server", "${SHARED}", "${ONLY_BROOD}", "${OVERRIDDEN}"]
env_file = ["a.env", "b.env"]
environment = { OVERRIDDEN = "table", PATH = "${PATH}:/opt/bin", FROM_FILE = "${FROM_A}" }
)");
    const variables brood{{"ONLY_BROOD", "brood"}, {"SHARED", "brood"}, {"PATH", "/usr/bin"}};
    std::ifstream in(toml);
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    const loaded_config loaded = parse_toml_config(text, toml.string(), brood);
    ASSERT_EQ(messages(loaded.problems), std::vector<std::string>{});
    const program_config& web = loaded.programs.at(0);
    EXPECT_EQ(web.environment, (variables{{"FROM_A", "a"},
                                          {"SHARED", "b"},
                                          {"OVERRIDDEN", "table"},
                                          {"PATH", "/usr/bin:/opt/bin"},
                                          {"FROM_FILE", "a"}}));
    EXPECT_EQ(web.argv, (std::vector<std::string>{"server", "b", "brood", "table"}));
}

TEST(toml_environment, expansion_in_command_strings_and_directory) {
    const variables brood{{"APP", "/srv/app"}, {"WORDS", "two words"}};
    loaded_config loaded = parse_toml_config(R"(
[programs.a]
command = "run --dir ${APP} ${WORDS} '$$' \"${WORDS}\""
directory = "${APP}/current"
[programs.b]
command = "echo ${APP} $PORT $$HOME"
shell = true
)",
                                             "brood.toml", brood);
    ASSERT_EQ(messages(loaded.problems), std::vector<std::string>{});
    EXPECT_EQ(loaded.programs[0].argv, (std::vector<std::string>{"run", "--dir", "/srv/app", "two", "words", "$", "two words"}));
    EXPECT_EQ(loaded.programs[0].directory, "/srv/app/current");
    EXPECT_EQ(loaded.programs[1].argv, (std::vector<std::string>{"/bin/sh", "-c", "echo /srv/app $PORT $HOME"}));
}

TEST(toml_environment, load_errors_with_file_line_and_column) {
    loaded_config loaded = parse_toml_config(R"([programs.a]
command = "run ${NOPE}"
directory = "${ALSO_NOPE}"
environment = { SELF = "${SELF}", PORT_COPY = "${PORT}" }
[programs.b]
command = ["x", "${BROOD_INSTANCE}"]
env_file = "does-not-exist.env"
)",
                                             "brood.toml", {});
    EXPECT_EQ(messages(loaded.problems),
              (std::vector<std::string>{
                  "brood.toml:2:11: programs.a.command: ${NOPE}: NOPE is not set (give a default: ${NOPE:-value})",
                  "brood.toml:3:13: programs.a.directory: ${ALSO_NOPE}: ALSO_NOPE is not set (give a default: ${ALSO_NOPE:-value})",
                  "brood.toml:4:24: programs.a.environment.SELF: ${SELF}: SELF is not set (give a default: ${SELF:-value})",
                  "brood.toml:4:47: programs.a.environment.PORT_COPY: ${PORT} is set for each instance as it starts: use shell = true and $PORT",
                  "brood.toml:6:17: programs.b.command: ${BROOD_INSTANCE} is set for each instance as it starts: use shell = true and $BROOD_INSTANCE",
                  "does-not-exist.env: cannot read: ENOENT: No such file or directory",
              }));
}

TEST(toml_environment, a_variable_naming_itself_takes_the_value_from_below) {
    loaded_config loaded = parse_toml_config("[programs.a]\ncommand = \"x\"\nenvironment = { SELF = \"${SELF}-more\" }\n",
                                             "brood.toml", {{"SELF", "${SELF}"}});
    ASSERT_EQ(messages(loaded.problems), std::vector<std::string>{});
    EXPECT_EQ(loaded.programs[0].environment.at("SELF"), "${SELF}-more");
}

TEST(toml_environment, env_file_problems_carry_the_env_files_line) {
    temp_dir dir;
    dir.write(".env", "GOOD=1\nbad line\n");
    const auto toml = dir.write("brood.toml", "[programs.a]\ncommand = \"x\"\nenv_file = \".env\"\n");
    EXPECT_EQ(messages(load_config(toml).problems),
              std::vector<std::string>{(dir.path() / ".env").string() + ":2: expected KEY=value"});
}

// ---- Procfile ----

TEST(procfile_environment, dot_env_beside_it_or_the_file_given) {
    temp_dir dir;
    const auto procfile = dir.write("Procfile", "web: server\nworker: work\n");
    EXPECT_EQ(load_config(procfile).programs.at(0).environment, variables{});  // no .env: nothing
    dir.write(".env", "A=dot\n");
    dir.write("test.env", "B=test\n");
    loaded_config loaded = load_config(procfile);
    EXPECT_EQ(loaded.programs.at(0).environment, (variables{{"A", "dot"}}));
    EXPECT_EQ(loaded.programs.at(1).environment, (variables{{"A", "dot"}}));
    loaded = load_config(procfile, {.env_file = dir.path() / "test.env"});
    EXPECT_EQ(loaded.programs.at(0).environment, (variables{{"B", "test"}}));
    EXPECT_EQ(messages(load_config(procfile, {.env_file = dir.path() / "nope.env"}).problems),
              std::vector<std::string>{(dir.path() / "nope.env").string() + ": cannot read: ENOENT: No such file or directory"});
    const auto toml = dir.write("brood.toml", "[programs.a]\ncommand = \"x\"\n");
    EXPECT_EQ(messages(load_config(toml, {.env_file = dir.path() / "test.env"}).problems),
              std::vector<std::string>{(dir.path() / "test.env").string() +
                                       ": --env is for a Procfile: in brood.toml, name env files with env_file"});
}

// ---- user, group, umask ----

namespace {

program_config only(const loaded_config& loaded) {
    EXPECT_EQ(messages(loaded.problems), std::vector<std::string>{});
    return loaded.programs.empty() ? program_config{} : loaded.programs.front();
}

std::vector<std::string> run_as_problems(const std::string& keys) {
    return messages(parse_toml_config("[programs.a]\ncommand = \"x\"\n" + keys, "brood.toml").problems);
}

// The problems of keys as a brood running as nobody (uid and gid 65534) sees them: in a forked
// child that gave up root.
std::string as_nobody(const std::string& keys) {
    return brood::fork_call([&]() -> std::string {
               if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0)
                   throw std::runtime_error("setresuid: " + brood::errno_name(errno));
               std::string text;
               for (const std::string& m : run_as_problems(keys)) text += m + "\n";
               return text;
           })
        .get();
}

}  // namespace

TEST(run_as, names_and_numbers_resolve_at_load) {
    if (::geteuid() != 0) GTEST_SKIP() << "as another user, brood refuses other users (checked below as nobody)";
    program_config a = only(parse_toml_config("[programs.a]\ncommand = \"x\"\nuser = \"nobody\"\numask = \"027\"\n", "brood.toml"));
    EXPECT_EQ(a.user, 65534u);
    EXPECT_EQ(a.group, 65534u) << "the primary group of nobody, from the user database";
    EXPECT_EQ(a.groups, std::vector<gid_t>{});
    EXPECT_EQ(a.umask, 027u);
    a = only(parse_toml_config("[programs.a]\ncommand = \"x\"\nuser = 65534\ngroup = \"root\"\numask = 0o077\n", "brood.toml"));
    EXPECT_EQ(a.user, 65534u);
    EXPECT_EQ(a.group, 0u);
    EXPECT_EQ(a.umask, 077u);
    // A uid with no entry has no primary group to take: it needs group.
    a = only(parse_toml_config("[programs.a]\ncommand = \"x\"\nuser = 4300\ngroup = 4301\n", "brood.toml"));
    EXPECT_EQ(a.user, 4300u);
    EXPECT_EQ(a.group, 4301u);
}

TEST(run_as, unknown_users_and_groups_and_bad_values_are_problems_with_file_and_line) {
    EXPECT_EQ(run_as_problems("user = \"no-such-user\"\n"),
              std::vector<std::string>{"brood.toml:3:8: programs.a.user: unknown user \"no-such-user\" (not in the user database)"});
    EXPECT_EQ(run_as_problems("group = \"no-such-group\"\n"),
              std::vector<std::string>{"brood.toml:3:9: programs.a.group: unknown group \"no-such-group\" (not in the group database)"});
    EXPECT_EQ(run_as_problems("user = true\n"),
              std::vector<std::string>{"brood.toml:3:8: programs.a.user: expected a user name or number, found a boolean"});
    if (::geteuid() == 0) {
        EXPECT_EQ(run_as_problems("user = 4300\n"),
                  std::vector<std::string>{"brood.toml:3:8: programs.a.user: uid 4300 has no entry in the user database, so no primary group: set group"});
    }
    for (const char* bad : {"\"8\"", "\"1000\"", "\"\"", "-1", "\"u+x\""})
        EXPECT_EQ(run_as_problems(std::string("umask = ") + bad + "\n").size(), 1u) << bad;
    EXPECT_EQ(run_as_problems("umask = \"0778\"\n"),
              std::vector<std::string>{"brood.toml:3:9: programs.a.umask: expected an octal mode from \"000\" to \"777\", such as \"027\", found \"0778\""});
}

TEST(run_as, brood_not_root_runs_programs_only_as_itself_and_says_why) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to become nobody for the check";
    EXPECT_EQ(as_nobody("user = \"root\"\n"),
              "brood.toml:3:8: programs.a.user: brood runs as nobody (uid 65534), not as root: it can start programs only "
              "as itself, not as root (uid 0)\n");
    EXPECT_EQ(as_nobody("group = 0\n"),
              "brood.toml:3:9: programs.a.group: brood runs as nobody (uid 65534), not as root, with group 65534: it cannot "
              "start programs in group 0\n");
    EXPECT_EQ(as_nobody("user = \"nobody\"\ngroup = 65534\n"), "");
}

// A user database of the test's own: a forked child with a mount namespace of its own, where a
// passwd and a group file of the test are bind-mounted over /etc/passwd and /etc/group.
TEST(run_as, a_users_supplementary_groups_come_from_the_user_database) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mount namespaces)";
    temp_dir dir;
    dir.write("passwd", "root:x:0:0:root:/root:/bin/sh\nbrood-test:x:4242:4242::/nonexistent:/bin/sh\n");
    dir.write("group", "root:x:0:\nbrood-test:x:4242:\nbrood-a:x:4243:someone,brood-test\nbrood-b:x:4244:brood-test\n"
                       "brood-c:x:4245:someone\n");
    const std::string seen = brood::fork_call([&]() -> std::string {
                                 brood::testing::use_user_database(dir.path());
                                 const program_config p = only(parse_toml_config(
                                     "[programs.a]\ncommand = \"x\"\nuser = \"brood-test\"\n", "brood.toml"));
                                 std::string text = std::to_string(p.user.value_or(0)) + " " + std::to_string(p.group.value_or(0));
                                 for (gid_t g : p.groups) text += " " + std::to_string(g);
                                 return text;
                             })
                                 .get();
    EXPECT_EQ(seen, "4242 4242 4243 4244");
}

// ---- limits ----

TEST(limits, one_value_or_soft_and_hard_sizes_and_infinity) {
    const program_config a = only(parse_toml_config(R"([programs.a]
command = "x"
limits = { nofile = 512, core = { soft = 0, hard = "infinity" }, stack = "8M", as = "infinity", cpu = 60, nproc = 100, memlock = "64K" }
)",
                                                    "brood.toml"));
    EXPECT_EQ(a.limits, (std::vector<resource_limit>{{RLIMIT_AS, RLIM_INFINITY, RLIM_INFINITY},
                                                     {RLIMIT_CORE, 0, RLIM_INFINITY},
                                                     {RLIMIT_CPU, 60, 60},
                                                     {RLIMIT_MEMLOCK, 65536, 65536},
                                                     {RLIMIT_NOFILE, 512, 512},
                                                     {RLIMIT_NPROC, 100, 100},
                                                     {RLIMIT_STACK, 8 << 20, 8 << 20}}));
}

TEST(limits, problems) {
    EXPECT_EQ(run_as_problems("limits = { files = 10, nofile = { soft = 20, hard = 10 }, core = { soft = 1 }, "
                              "nproc = \"many\", stack = \"8 megs\" }\n"),
              (std::vector<std::string>{
                  "brood.toml:3:12: programs.a.limits.files: unknown limit (the limits are nofile, nproc, core, memlock, stack, as, cpu)",
                  "brood.toml:3:33: programs.a.limits.nofile: soft 20 is above hard 10",
                  "brood.toml:3:66: programs.a.limits.core: give both soft and hard, or one value for both",
                  "brood.toml:3:88: programs.a.limits.nproc: expected a number or \"infinity\", found \"many\"",
                  "brood.toml:3:104: programs.a.limits.stack: expected a size such as \"10M\", or a number of bytes, found \"8 megs\"",
              }));
}

TEST(limits, above_the_hard_limit_is_refused_unless_brood_is_root) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to compare root and nobody";
    rlimit own{};
    ::getrlimit(RLIMIT_NOFILE, &own);
    const std::string above = std::to_string(own.rlim_max + 1);
    EXPECT_EQ(run_as_problems("limits = { nofile = " + above + " }\n"), std::vector<std::string>{})
        << "root may raise its hard limit";
    EXPECT_EQ(as_nobody("limits = { nofile = " + above + " }\n"),
              "brood.toml:3:21: programs.a.limits.nofile: hard " + above + " is above brood's own hard limit, " +
                  std::to_string(own.rlim_max) + ", which only root may raise\n");
    EXPECT_EQ(run_as_problems("limits = { nofile = 1073741824 }\n"),
              std::vector<std::string>{"brood.toml:3:21: programs.a.limits.nofile: hard 1073741824 is above the kernel's fs.nr_open, 1048576"});
}

// ---- cgroup limits ----

TEST(cgroup_limits, cpu_max_is_a_share_of_one_cpu) {
    EXPECT_EQ(cpu_max_value("50%"), "50000 100000");
    EXPECT_EQ(cpu_max_value("250%"), "250000 100000");
    EXPECT_EQ(cpu_max_value("max"), "max 100000");
    for (const char* bad : {"50", "0%", "-5%", "x%", "%", ""}) EXPECT_EQ(cpu_max_value(bad), std::nullopt) << bad;
}

// The decision, on a directory that stands in for brood's cgroup (plain files: the rules read them).
TEST(cgroup_limits, a_controller_is_refused_naming_it_and_the_path_unless_it_can_be_enabled) {
    temp_dir dir;
    const std::filesystem::path base = dir.path();
    dir.write("cgroup.controllers", "cpu memory\n");
    dir.write("cgroup.subtree_control", "\n");
    dir.write("cgroup.procs", "");
    dir.write("cgroup.events", "populated 0\n");
    EXPECT_EQ(why_no_controller("memory", std::nullopt), "needs cgroup v2, and brood is in none");
    EXPECT_EQ(why_no_controller("pids", base),
              "the pids controller is not available in " + (base / "cgroup.controllers").string() + " (cpu memory)");
    EXPECT_EQ(why_no_controller("memory", base), std::nullopt) << "offered, and nothing in the way of enabling it";
    dir.write("cgroup.procs", "123\n");
    EXPECT_EQ(why_no_controller("memory", base),
              "the memory controller is not enabled in " + (base / "cgroup.subtree_control").string() +
                  ", and brood cannot enable it there while that cgroup holds processes (brood's own among them)");
    dir.write("cgroup.subtree_control", "memory\n");
    EXPECT_EQ(why_no_controller("memory", base), std::nullopt) << "enabled already";
    std::filesystem::remove(base / "cgroup.events");  // the root cgroup: processes do not get in the way
    dir.write("cgroup.subtree_control", "\n");
    EXPECT_EQ(why_no_controller("memory", base), std::nullopt);

    enable_controller(base, "memory");
    std::ifstream in(base / "cgroup.subtree_control");
    std::string written;
    std::getline(in, written);
    EXPECT_EQ(written, "+memory");
}

// On this project's machines cgroup v2 offers only hugetlb: there the limits are refused at load.
// Where brood's cgroup offers the controllers, they are accepted as the files will be written.
TEST(cgroup_limits, are_read_and_checked_against_brood_s_cgroup) {
    const loaded_config loaded = parse_toml_config("[programs.a]\ncommand = \"x\"\nmemory_max = \"256M\"\nmemory_high = \"max\"\n"
                                                   "pids_max = 100\ncpu_weight = 50\ncpu_max = \"150%\"\n",
                                                   "brood.toml");
    const std::optional<std::filesystem::path> base = brood::current_cgroup();
    std::vector<std::string> expected;
    std::vector<cgroup_limit> limits;
    const std::array<std::tuple<unsigned, unsigned, const char*, const char*, const char*>, 5> keys{{
        {3, 14, "memory_max", "memory.max", "268435456"},
        {4, 15, "memory_high", "memory.high", "max"},
        {5, 12, "pids_max", "pids.max", "100"},
        {6, 14, "cpu_weight", "cpu.weight", "50"},
        {7, 11, "cpu_max", "cpu.max", "150000 100000"},
    }};
    for (const auto& [line, column, key, file, value] : keys) {
        if (auto why = why_no_controller(controller_of(file), base))
            expected.push_back("brood.toml:" + std::to_string(line) + ":" + std::to_string(column) + ": programs.a." + key + ": " + *why);
        else
            limits.push_back({file, value});
    }
    EXPECT_EQ(messages(loaded.problems), expected);
    if (expected.empty()) {
        EXPECT_EQ(loaded.programs.at(0).cgroup_limits, limits);
    }
    EXPECT_EQ(messages(parse_toml_config("[programs.a]\ncommand = \"x\"\ncpu_max = \"1.5\"\ncpu_weight = \"max\"\n", "brood.toml").problems),
              (std::vector<std::string>{
                  "brood.toml:3:11: programs.a.cpu_max: expected a share of one CPU such as \"50%\" or \"200%\", or \"max\", found \"1.5\"",
                  "brood.toml:4:14: programs.a.cpu_weight: expected an integer from 1 to 10000, found a string"}));
}

// ---- out of memory: memory.events' oom_kill, before and after a run ----

// memory.events as the kernel writes it, in a directory standing for the instance's cgroup: this
// machine's cgroup v2 has no memory controller, so no cgroup of it has the file.
TEST(out_of_memory, the_oom_kill_count_is_read_from_memory_events) {
    temp_dir cgroup;
    const brood::unique_fd dir(::open(cgroup.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(dir);
    EXPECT_EQ(oom_kills(dir.get()), std::nullopt);  // no memory controller: no file
    cgroup.write("memory.events", "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0\n");
    EXPECT_EQ(oom_kills(dir.get()), 1u);
    EXPECT_EQ(oom_kills_in("low 0\nhigh 0\nmax 0\noom 0\noom_kill 12"), 12u);  // no final newline
    EXPECT_EQ(oom_kills_in("low 0\noom_group_kill 3\n"), std::nullopt);      // only a longer key
    EXPECT_EQ(oom_kills_in("oom_kill x\n"), std::nullopt);
    EXPECT_EQ(oom_kills_in(""), std::nullopt);
}

TEST(out_of_memory, a_run_whose_count_grew_was_out_of_memory_and_says_its_memory_max) {
    program_config capped;
    capped.cgroup_limits = {{"pids.max", "100"}, {"memory.max", "268435456"}};
    EXPECT_EQ(out_of_memory_cause(0, 1, capped), "out of memory: memory_max 256M");
    EXPECT_EQ(out_of_memory_cause(3, 5, capped), "out of memory: memory_max 256M");
    EXPECT_EQ(out_of_memory_cause(1, 1, capped), "");  // killed before this run, not in it
    EXPECT_EQ(out_of_memory_cause(std::nullopt, 1, capped), "");
    EXPECT_EQ(out_of_memory_cause(0, std::nullopt, capped), "");
    program_config uncapped;
    uncapped.cgroup_limits = {{"memory.max", "max"}, {"memory.high", "104857600"}};
    EXPECT_EQ(out_of_memory_cause(0, 1, uncapped), "out of memory");
}
