#include "sim/web.hpp"

#include "sim/web_assets.hpp"  // generated from sim/web/ by sim/web/embed.cmake

namespace dutydesk::sim {

namespace {

http_response text_response(int status, std::string body) {
  http_response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

const web_asset* find_asset(std::string_view name) {
  for (auto& a : web_assets)
    if (a.name == name)
      return &a;
  return nullptr;
}

} // namespace

std::optional<http_response> web_page(const http_request& req) {
  constexpr std::string_view dir = "/live/";
  std::string_view path = req.path;
  std::string_view name;
  if (path == "/" || path == "/live" || path == "/live/")
    name = "live.html";
  else if (path.substr(0, dir.size()) == dir)
    name = path.substr(dir.size());
  else
    return std::nullopt;
  const auto* asset = find_asset(name);
  if (!asset)
    return text_response(404, "no such file: " + std::string{path} + "\n");
  if (req.method != "GET")
    return text_response(405, "the live page only answers GET\n").with_header("Allow", "GET");
  http_response r;
  r.content_type = std::string{asset->content_type};
  r.body = std::string{asset->body};
  // The page is a development tool that posts as any user: it loads nothing from elsewhere and may not be framed.
  r.with_header("Cache-Control", "no-store")
      .with_header("X-Content-Type-Options", "nosniff")
      .with_header("Content-Security-Policy",
                   "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
                   "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
  return r;
}

} // namespace dutydesk::sim
