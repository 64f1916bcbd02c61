#include "domain/commands.hpp"

#include <cctype>
#include <vector>

namespace dutydesk::domain {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_space(text.back()))
    text.remove_suffix(1);
  return text;
}

std::optional<int> parse_score(std::string_view text) {
  if (text.empty() || text.size() > 3)
    return std::nullopt;
  int result = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    result = result * 10 + (c - '0');
  }
  if (result > 100)
    return std::nullopt;
  return result;
}

} // namespace

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> result;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i]))
      ++i;
    auto start = i;
    while (i < text.size() && !is_space(text[i]))
      ++i;
    if (i > start)
      result.push_back(text.substr(start, i - start));
  }
  return result;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

bool is_command(std::string_view text) {
  auto words = split_words(text);
  return !words.empty() && iequals(words.front(), "!dd");
}

std::optional<command> parse_command(std::string_view text) {
  auto words = split_words(text);
  if (words.empty() || !iequals(words.front(), "!dd"))
    return std::nullopt;
  auto unknown = [&] { return command{unknown_command{std::string{trim(text)}}}; };
  if (words.size() < 2)
    return unknown();
  auto keyword = words[1];
  auto args = std::vector<std::string_view>(words.begin() + 2, words.end());
  if (iequals(keyword, "help"))
    return args.empty() ? command{help_command{}} : unknown();
  if (iequals(keyword, "status")) {
    if (args.size() != 1)
      return unknown();
    return command{status_command{std::string{args[0]}}};
  }
  if (iequals(keyword, "move")) {
    if (args.size() != 1)
      return unknown();
    auto target = args[0];
    bool is_room = target.front() == '#';
    if (is_room)
      target.remove_prefix(1);
    if (target.empty())
      return unknown();
    return command{move_command{std::string{target}, is_room}};
  }
  if (iequals(keyword, "assign")) {
    if (args.size() != 1)
      return unknown();
    auto user = args[0];
    if (user.front() == '@')
      user.remove_prefix(1);
    if (user.empty())
      return unknown();
    return command{assign_command{std::string{user}}};
  }
  if (iequals(keyword, "rate")) {
    if (args.size() != 2)
      return unknown();
    auto score = parse_score(args[1]);
    if (!score)
      return unknown();
    return command{rate_command{std::string{args[0]}, *score}};
  }
  return unknown();
}

} // namespace dutydesk::domain
