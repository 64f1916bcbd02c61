// Fuzzes the `!dd …` chat command parser: domain::parse_command, is_command and split_words on any message text.
// Invariants (domain/commands.hpp):
//   - parse_command gives a command exactly when is_command says the text is one;
//   - split_words gives the non-empty, whitespace-free runs of the text, in order;
//   - arguments are non-empty, hold no whitespace, and lose only one leading '#' (move) or '@' (assign); a score is
//     0..100; an unknown command keeps the whole text, trimmed;
//   - round trip: the canonical text of a parsed command ("!dd status ID", "!dd move #ROOM", ...) parses back to the
//     same command;
//   - the spacing between words and the case of the prefix and keyword do not matter.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <variant>

#include "domain/commands.hpp"
#include "fuzz/support/check.hpp"

namespace {

using ::dutydesk::fuzz::fail;

using namespace dutydesk::domain;

// The whitespace the header names: space, tab, newline, CR, FF, VT.
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

bool has_space(std::string_view s) {
  for (char c : s)
    if (is_space(c))
      return true;
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

void check_words(std::string_view text) {
  auto words = split_words(text);
  std::size_t pos = 0;
  for (auto w : words) {
    CHECK(!w.empty() && !has_space(w), text);
    // Each word is a view into the text, after the previous one, bounded by whitespace or the ends.
    CHECK(w.data() >= text.data() + pos && w.data() + w.size() <= text.data() + text.size(), text);
    auto begin = static_cast<std::size_t>(w.data() - text.data());
    for (std::size_t i = pos; i < begin; ++i)
      CHECK(is_space(text[i]), text);
    auto end = begin + w.size();
    CHECK(end == text.size() || is_space(text[end]), text);
    pos = end;
  }
  for (std::size_t i = pos; i < text.size(); ++i)
    CHECK(is_space(text[i]), text);
}

// The text a user would type for `c`; nullopt for unknown commands, which have none.
std::optional<std::string> canonical(const command& c) {
  if (const auto* s = std::get_if<status_command>(&c))
    return "!dd status " + s->status_id;
  if (const auto* m = std::get_if<move_command>(&c))
    return "!dd move " + std::string(m->is_room ? "#" : "") + m->target;
  if (const auto* a = std::get_if<assign_command>(&c))
    return "!dd assign @" + a->user;
  if (std::holds_alternative<help_command>(c))
    return std::string("!dd help");
  if (const auto* r = std::get_if<rate_command>(&c))
    return "!dd rate " + r->request_id + " " + std::to_string(r->score);
  return std::nullopt;
}

void check_command(const command& c, std::string_view text) {
  auto words = split_words(text);
  if (const auto* s = std::get_if<status_command>(&c)) {
    CHECK(!s->status_id.empty() && !has_space(s->status_id), text);
    CHECK(words.size() == 3 && words[2] == s->status_id, text);
  } else if (const auto* m = std::get_if<move_command>(&c)) {
    CHECK(!m->target.empty() && !has_space(m->target), text);
    CHECK(words.size() == 3, text);
    CHECK(m->is_room == (words[2].front() == '#'), text);
    CHECK(words[2].substr(m->is_room ? 1 : 0) == m->target, text);
  } else if (const auto* a = std::get_if<assign_command>(&c)) {
    CHECK(!a->user.empty() && !has_space(a->user), text);
    CHECK(words.size() == 3, text);
    CHECK(words[2].substr(words[2].front() == '@' ? 1 : 0) == a->user, text);
  } else if (std::holds_alternative<help_command>(c)) {
    CHECK(words.size() == 2, text);
  } else if (const auto* r = std::get_if<rate_command>(&c)) {
    CHECK(!r->request_id.empty() && !has_space(r->request_id), text);
    CHECK(r->score >= 0 && r->score <= 100, text);
    CHECK(words.size() == 4 && words[2] == r->request_id, text);
  } else {
    const auto& u = std::get<unknown_command>(c);
    CHECK(u.text == trim(text), text);
    CHECK(is_command(u.text), text);
  }
}

// `text` with every run of whitespace replaced by `gap`, and the first two words (prefix, keyword) in upper case.
std::string respaced(std::string_view text, std::string_view gap) {
  std::string result;
  auto words = split_words(text);
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0)
      result += gap;
    std::string w(words[i]);
    if (i < 2)
      for (auto& ch : w)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    result += w;
  }
  return result;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    check_words(text);
    auto parsed = parse_command(text);
    CHECK(parsed.has_value() == is_command(text), text);
    if (!parsed)
      return 0;
    check_command(*parsed, text);

    if (auto again = canonical(*parsed)) {
      auto back = parse_command(*again);
      CHECK(back && *back == *parsed, *again);
    }

    auto other = respaced(text, " \t\r\n ");
    auto back = parse_command(other);
    CHECK(back.has_value(), other);
    if (std::holds_alternative<unknown_command>(*parsed))
      CHECK(std::holds_alternative<unknown_command>(*back), other);
    else
      CHECK(*back == *parsed, other);
  } catch (const std::exception& e) {
    fail("exception escaped", e.what());
  } catch (...) {
    fail("non-standard exception escaped");
  }
  return 0;
}
