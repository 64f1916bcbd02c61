#include "sim/core.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace dutydesk::sim {

std::string http_request::header(std::string_view name) const {
  auto i = headers.find(std::string{name});
  return i == headers.end() ? std::string{} : i->second;
}

std::optional<std::string> http_request::param(std::string_view name) const {
  auto i = query.find(std::string{name});
  if (i == query.end())
    return std::nullopt;
  return i->second;
}

http_response json_response(int status, const json& body) {
  http_response r;
  r.status = status;
  r.body = body.dump();
  return r;
}

int64_t system_clock::now_ms() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string id_source::meteor_id(size_t len) {
  static constexpr std::string_view alphabet = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::string result(len, ' ');
  for (auto& c : result)
    c = alphabet[pick(rng_)];
  return result;
}

std::string id_source::hex(size_t bytes) {
  static constexpr std::string_view digits = "0123456789abcdef";
  std::string result;
  result.reserve(bytes * 2);
  for (size_t i = 0; i < bytes; ++i) {
    auto b = static_cast<unsigned>(rng_() & 0xffu);
    result += digits[b >> 4];
    result += digits[b & 0xfu];
  }
  return result;
}

std::string id_source::uuid() {
  auto h = hex(16);
  h[12] = '4';
  static constexpr std::string_view variant = "89ab";
  h[16] = variant[static_cast<size_t>(rng_() % 4)];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

double id_source::uniform() {
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
}

namespace {

std::tm utc_tm(int64_t ms) {
  auto secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

int millis_part(int64_t ms) {
  auto r = static_cast<int>(ms % 1000);
  return r < 0 ? r + 1000 : r;
}

// Days from 1970-01-01 to the given civil date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

} // namespace

std::string iso8601_utc(int64_t ms) {
  auto tm = utc_tm(ms);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis_part(ms));
  return buf;
}

std::string jira_time(int64_t ms) {
  auto tm = utc_tm(ms);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis_part(ms));
  return buf;
}

std::optional<int64_t> parse_iso8601(std::string_view s) {
  auto digits = [&](size_t pos, size_t n) -> std::optional<int> {
    if (pos + n > s.size())
      return std::nullopt;
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9')
        return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  auto y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2);
  if (!y || !mo || !d || s.size() < 10 || s[4] != '-' || s[7] != '-')
    return std::nullopt;
  int h = 0, mi = 0, sec = 0, frac_ms = 0;
  size_t pos = 10;
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == ' ')) {
    auto hh = digits(11, 2), mm = digits(14, 2);
    if (!hh || !mm || s.size() < 16 || s[13] != ':')
      return std::nullopt;
    h = *hh;
    mi = *mm;
    pos = 16;
    if (pos < s.size() && s[pos] == ':') {
      auto ss = digits(17, 2);
      if (!ss)
        return std::nullopt;
      sec = *ss;
      pos = 19;
      if (pos < s.size() && s[pos] == '.') {
        ++pos;
        int scale = 100;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
          frac_ms += (s[pos] - '0') * scale;
          scale /= 10;
          ++pos;
        }
      }
    }
  }
  int offset_min = 0;
  if (pos < s.size()) {
    if (s[pos] == 'Z') {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int sign = s[pos] == '-' ? -1 : 1;
      auto oh = digits(pos + 1, 2);
      if (!oh)
        return std::nullopt;
      size_t mpos = pos + 3;
      if (mpos < s.size() && s[mpos] == ':')
        ++mpos;
      auto om = digits(mpos, 2);
      if (!om)
        return std::nullopt;
      offset_min = sign * (*oh * 60 + *om);
      pos = mpos + 2;
    } else {
      return std::nullopt;
    }
  }
  if (pos != s.size() || *mo < 1 || *mo > 12 || *d < 1 || *d > 31 || h > 23 || mi > 59 || sec > 60)
    return std::nullopt;
  int64_t days = days_from_civil(*y, static_cast<unsigned>(*mo), static_cast<unsigned>(*d));
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
  return secs * 1000 + frac_ms;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos < path.size()) {
    auto next = path.find('/', pos);
    if (next == std::string_view::npos)
      next = path.size();
    if (next > pos)
      parts.emplace_back(path.substr(pos, next - pos));
    pos = next + 1;
  }
  return parts;
}

std::optional<json> parse_json(std::string_view body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded())
    return std::nullopt;
  return j;
}

} // namespace dutydesk::sim
