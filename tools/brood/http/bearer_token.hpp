// The token the HTTP API's POST verbs need (Authorization: Bearer TOKEN): any local user can reach
// a TCP port, while the control socket admits only its owner, so the token stands in for the
// socket's peer check.
//
//   const std::string token = configured ? read_token(*configured) : write_new_token(".brood/http.token");
//   if (!token_matches(request.authorization, token)) ... 401
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace brood::http {

// 32 random bytes (getrandom) as 64 hex digits, written to path with mode 0600 (its directory
// made when missing); the file is replaced whole, never seen half-written. Throws naming the path.
std::string write_new_token(const std::filesystem::path& path);
// The file's content without the blanks around it (a final newline, say). Throws naming the path when it cannot be
// read, is empty, or is longer than 4 KiB.
std::string read_token(const std::filesystem::path& path);
// Whether authorization is "Bearer TOKEN" with this token; compared in constant time, so the
// answer's timing says nothing of how much of a guess was right.
bool token_matches(std::string_view authorization, std::string_view token);

}  // namespace brood::http
