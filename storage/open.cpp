#include "storage/open.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "storage/postgres_store.hpp"
#include "storage/sqlite_store.hpp"

namespace dutydesk::storage {

namespace {

constexpr std::string_view usage =
  "use sqlite:///absolute/path.db, sqlite://:memory:, sqlite::memory: or postgresql://user:password@host:port/db";

error bad(std::string what) {
  return error{errc::bad_url, "storage URL " + what + "; " + std::string{usage}};
}

} // namespace

result<store_location> parse_store_url(const std::string& url) {
  auto colon = url.find(':');
  if (url.empty() || colon == std::string::npos || colon == 0)
    return bad("has no scheme");
  std::string scheme = url.substr(0, colon);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view rest = std::string_view{url}.substr(colon + 1);
  if (scheme == "postgresql" || scheme == "postgres")
    return store_location{store_location::postgresql, url};
  if (scheme != "sqlite")
    return bad("names an unknown backend (only sqlite and postgresql exist)");
  if (rest == ":memory:" || rest == "//:memory:")
    return store_location{store_location::sqlite_memory, ":memory:"};
  if (!rest.starts_with("//"))
    return bad("is not of the form sqlite://...");
  rest.remove_prefix(2);
  if (!rest.starts_with("/"))
    return bad("has a host or a relative path");
  if (rest.find_first_of("?#") != std::string_view::npos)
    return bad("has a query or fragment, which is not supported");
  if (rest.size() < 2 || rest.ends_with("/"))
    return bad("names a directory, not a file");
  return store_location{store_location::sqlite_file, std::string{rest}};
}

result<std::unique_ptr<store>> open_store(const std::string& url, const open_options& opts) {
  auto loc = parse_store_url(url);
  if (!loc)
    return loc.err();
  switch (loc->kind) {
    case store_location::postgresql: {
      postgres_options po;
      po.apply_migrations = opts.apply_migrations;
      return open_postgres(loc->path, po);
    }
    case store_location::sqlite_file:
    case store_location::sqlite_memory: {
      sqlite_options so;
      so.apply_migrations = opts.apply_migrations;
      return open_sqlite(loc->path, so);
    }
  }
  return error{errc::bad_url, "unknown storage location"};
}

} // namespace dutydesk::storage
