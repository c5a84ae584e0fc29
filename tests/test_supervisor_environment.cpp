// What a program's environment is made of: env files in the dotenv format, ${VAR} expansion, and
// the order in which brood's environment, env files and the environment table win. No processes.
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "supervisor/config.hpp"
#include "supervisor/env_file.hpp"
#include "supervisor/toml_config.hpp"
#include "supervisor/variable_expansion.hpp"

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

class temp_dir {
public:
    temp_dir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "brood-env-XXXXXX").string();
        if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~temp_dir() { std::filesystem::remove_all(path_); }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    std::filesystem::path write(const std::string& name, std::string_view text) const {
        std::ofstream(path_ / name, std::ios::binary) << text;
        return path_ / name;
    }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
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
