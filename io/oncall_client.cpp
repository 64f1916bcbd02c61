#include "io/oncall_client.hpp"

namespace dutydesk::io {

oncall_client::oncall_client(http_client& http, std::string base_url, std::string token, std::string grafana_url,
                             std::chrono::milliseconds timeout)
    : http_(http), base_(std::move(base_url)), token_(std::move(token)), grafana_url_(std::move(grafana_url)),
      timeout_(timeout) {
  while (!base_.empty() && base_.back() == '/')
    base_.pop_back();
  if (base_.size() < 7 || base_.compare(base_.size() - 7, 7, "/api/v1") != 0)
    base_ += "/api/v1";
}

template <class T, class Parse>
void oncall_client::get(const std::string& path, Parse parse, callback<T> cb) {
  http_request req;
  req.system = "oncall";
  req.method = http_method::get;
  req.url = base_ + path;
  req.headers = {{"Authorization", token_}};
  if (!grafana_url_.empty())
    req.headers.emplace_back("X-Grafana-URL", grafana_url_);
  req.timeout = timeout_;
  http_.request(std::move(req), [parse = std::move(parse), cb = std::move(cb)](http_result r) {
    api_error e;
    if (classify_http_failure(r, e)) {
      if (r.ok()) {
        e.error = parse_oncall_detail(r.response.body);
        // DRF turns a missing or bad token into 403 "Invalid token." (oncall.md §6).
        if (e.code == api_errc::forbidden)
          e.code = api_errc::auth;
      }
      return cb(api_result<T>(std::move(e)));
    }
    auto parsed = parse(r.response.body);
    if (!parsed.ok()) {
      e.code = api_errc::parse;
      e.status = r.response.status;
      e.error = parsed.error();
      return cb(api_result<T>(std::move(e)));
    }
    cb(api_result<T>(T(parsed.value())));
  });
}

void oncall_client::schedule(const std::string& schedule_id, callback<oncall_schedule> cb) {
  get<oncall_schedule>("/schedules/" + url_encode(schedule_id) + "/", parse_oncall_schedule, std::move(cb));
}

void oncall_client::on_call_now(const std::string& schedule_id, callback<std::vector<std::string>> cb) {
  schedule(schedule_id, [cb = std::move(cb)](api_result<oncall_schedule> r) {
    if (!r.ok())
      return cb(api_result<std::vector<std::string>>(r.error()));
    if (r->on_call_now.empty()) {
      api_error e;
      e.code = api_errc::empty_rota;
      e.status = 200;
      e.error = "nobody is on call now in schedule " + r->id;
      return cb(api_result<std::vector<std::string>>(std::move(e)));
    }
    cb(api_result<std::vector<std::string>>(r->on_call_now));
  });
}

void oncall_client::user(const std::string& user_id, callback<oncall_user> cb) {
  get<oncall_user>("/users/" + url_encode(user_id) + "/", parse_oncall_user, std::move(cb));
}

} // namespace dutydesk::io
