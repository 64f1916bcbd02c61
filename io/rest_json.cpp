#include "io/rest_json.hpp"

#include "io/detail/json_util.hpp"

namespace dutydesk::io {

namespace {

using detail::element;
using detail::field;
using detail::field_error;

template <class T>
domain::parsed<T> fail(std::string reason) {
  return domain::parse_error{std::move(reason)};
}

bool doc_object(std::string_view body, element& doc, std::string& why) {
  if (!detail::parse_document(body, doc, why))
    return false;
  if (!doc.is_object()) {
    why = "body is not a JSON object";
    return false;
  }
  return true;
}

bool read_messages(element parent, std::string_view key, std::vector<chat_message>& out, std::string& why) {
  auto v = field(parent, key);
  if (!v) {
    why = "missing field " + std::string(key);
    return false;
  }
  simdjson::dom::array arr;
  if (v->get(arr) != simdjson::SUCCESS) {
    why = "field " + std::string(key) + " is not an array";
    return false;
  }
  for (auto x : arr) {
    chat_message m;
    field_error err;
    if (!detail::read_chat_message(x, m, err)) {
      why = std::string(key) + ": " + err.reason;
      return false;
    }
    out.push_back(std::move(m));
  }
  return true;
}

bool read_rc_user(element e, rc_user& u, field_error& err) {
  if (!e.is_object()) {
    err.reason = "user is not an object";
    return false;
  }
  u.id = detail::req_string(e, "_id", err);
  u.username = detail::opt_string(e, "username", err).value_or("");
  u.name = detail::opt_string(e, "name", err).value_or("");
  u.status = detail::opt_string(e, "status", err).value_or("");
  u.active = detail::opt_bool(e, "active", err).value_or(true);
  u.roles = detail::string_array(e, "roles", err);
  if (auto emails = field(e, "emails")) {
    simdjson::dom::array arr;
    if (emails->get(arr) != simdjson::SUCCESS) {
      if (!err)
        err.reason = "field emails is not an array";
    } else {
      for (auto x : arr)
        if (auto a = detail::opt_string(x, "address", err))
          u.emails.push_back(*a);
    }
  }
  return !err;
}

bool read_oncall_schedule(element e, oncall_schedule& s, field_error& err) {
  if (!e.is_object()) {
    err.reason = "schedule is not an object";
    return false;
  }
  s.id = detail::req_string(e, "id", err);
  s.name = detail::opt_string(e, "name", err).value_or("");
  s.type = detail::opt_string(e, "type", err).value_or("");
  if (!field(e, "on_call_now") && e.is_object()) {
    // Present on every schedule object; its absence means this is not a schedule.
    if (!err)
      err.reason = "missing field on_call_now";
  }
  s.on_call_now = detail::string_array(e, "on_call_now", err);
  return !err;
}

bool read_oncall_user(element e, oncall_user& u, field_error& err) {
  if (!e.is_object()) {
    err.reason = "user is not an object";
    return false;
  }
  u.id = detail::req_string(e, "id", err);
  u.username = detail::req_string(e, "username", err);
  u.email = detail::opt_string(e, "email", err).value_or("");
  u.name = detail::opt_string(e, "name", err).value_or("");
  u.timezone = detail::opt_string(e, "timezone", err).value_or("");
  return !err;
}

template <class T, class Read>
domain::parsed<oncall_page<T>> read_page(std::string_view body, Read read) {
  element doc;
  std::string why;
  if (!doc_object(body, doc, why))
    return fail<oncall_page<T>>(why);
  oncall_page<T> page;
  field_error err;
  page.next = detail::opt_string(doc, "next", err).value_or("");
  page.count = detail::opt_int(doc, "count", err).value_or(0);
  auto results = field(doc, "results");
  simdjson::dom::array arr;
  if (!results || results->get(arr) != simdjson::SUCCESS)
    return fail<oncall_page<T>>("missing results array");
  for (auto x : arr) {
    T item;
    if (!read(x, item, err))
      return fail<oncall_page<T>>("results: " + err.reason);
    page.results.push_back(std::move(item));
  }
  if (err)
    return fail<oncall_page<T>>(err.reason);
  return page;
}

} // namespace

bool rc_success(std::string_view body) {
  element doc;
  std::string why;
  if (!doc_object(body, doc, why))
    return false;
  field_error err;
  return detail::opt_bool(doc, "success", err).value_or(false);
}

domain::parsed<rc_error_body> parse_rc_error(std::string_view body) {
  element doc;
  std::string why;
  if (!doc_object(body, doc, why))
    return fail<rc_error_body>(why);
  rc_error_body e;
  field_error err;
  if (auto v = field(doc, "error")) {
    std::string_view s;
    if (v->get(s) == simdjson::SUCCESS)
      e.error = std::string(s);
    else
      e.error = simdjson::minify(*v); // older servers: a number
  }
  e.error_type = detail::opt_string(doc, "errorType", err).value_or("");
  e.message = detail::opt_string(doc, "message", err).value_or("");
  if (err)
    return fail<rc_error_body>(err.reason);
  return e;
}

domain::parsed<chat_message> parse_rc_message_response(std::string_view body) {
  element doc;
  std::string why;
  if (!doc_object(body, doc, why))
    return fail<chat_message>(why);
  auto m = field(doc, "message");
  if (!m)
    return fail<chat_message>("missing field message");
  chat_message out;
  field_error err;
  if (!detail::read_chat_message(*m, out, err))
    return fail<chat_message>("message: " + err.reason);
  return out;
}

domain::parsed<sync_result> parse_rc_sync_messages(std::string_view body) {
  element doc;
  std::string why;
  if (!doc_object(body, doc, why))
    return fail<sync_result>(why);
  auto r = field(doc, "result");
  if (!r || !r->is_object())
    return fail<sync_result>("missing object result");
  sync_result out;
  if (!read_messages(*r, "updated", out.updated, why))
    return fail<sync_result>(why);
  if (auto d = field(*r, "deleted")) {
    simdjson::dom::array arr;
    if (d->get(arr) != simdjson::SUCCESS)
      return fail<sync_result>("field deleted is not an array");
    for (auto x : arr) {
      field_error err;
      deleted_message dm;
      dm.id = detail::req_string(x, "_id", err);
      dm.deleted_at_ms = detail::opt_date(x, "_deletedAt", err).value_or(0);
      if (err)
        return fail<sync_result>("deleted: " + err.reason);
      out.deleted.push_back(std::move(dm));
    }
  }
  return out;
}

domain::parsed<std::vector<chat_message>> parse_rc_history(std::string_view body) {
  element doc;
  std::string why;
  if (!doc_object(body, doc, why))
    return fail<std::vector<chat_message>>(why);
  std::vector<chat_message> out;
  if (!read_messages(doc, "messages", out, why))
    return fail<std::vector<chat_message>>(why);
  return out;
}

domain::parsed<rc_room> parse_rc_room(std::string_view body) {
  element doc;
  std::string why;
  if (!doc_object(body, doc, why))
    return fail<rc_room>(why);
  auto r = field(doc, "room");
  if (!r || !r->is_object())
    return fail<rc_room>("missing object room");
  rc_room room;
  field_error err;
  room.id = detail::opt_string(*r, "_id", err).value_or("");
  if (auto rid = detail::opt_string(*r, "rid", err))
    room.id = *rid;
  if (room.id.empty() && !err)
    err.reason = "room has neither _id nor rid";
  room.type = detail::opt_string(*r, "t", err).value_or("");
  room.name = detail::opt_string(*r, "name", err).value_or("");
  room.fname = detail::opt_string(*r, "fname", err).value_or("");
  room.usernames = detail::string_array(*r, "usernames", err);
  if (err)
    return fail<rc_room>(err.reason);
  return room;
}

domain::parsed<rc_user> parse_rc_user_info(std::string_view body) {
  element doc;
  std::string why;
  if (!doc_object(body, doc, why))
    return fail<rc_user>(why);
  auto u = field(doc, "user");
  if (!u)
    return fail<rc_user>("missing field user");
  rc_user out;
  field_error err;
  if (!read_rc_user(*u, out, err))
    return fail<rc_user>("user: " + err.reason);
  return out;
}

domain::parsed<rc_user> parse_rc_me(std::string_view body) {
  element doc;
  std::string why;
  if (!doc_object(body, doc, why))
    return fail<rc_user>(why);
  rc_user out;
  field_error err;
  if (!read_rc_user(doc, out, err))
    return fail<rc_user>(err.reason);
  return out;
}

domain::parsed<rc_user_page> parse_rc_users_list(std::string_view body) {
  element doc;
  std::string why;
  if (!doc_object(body, doc, why))
    return fail<rc_user_page>(why);
  rc_user_page page;
  field_error err;
  page.count = detail::opt_int(doc, "count", err).value_or(0);
  page.offset = detail::opt_int(doc, "offset", err).value_or(0);
  page.total = detail::opt_int(doc, "total", err).value_or(0);
  auto users = field(doc, "users");
  simdjson::dom::array arr;
  if (!users || users->get(arr) != simdjson::SUCCESS)
    return fail<rc_user_page>("missing users array");
  for (auto x : arr) {
    rc_user u;
    if (!read_rc_user(x, u, err))
      return fail<rc_user_page>("users: " + err.reason);
    page.users.push_back(std::move(u));
  }
  if (err)
    return fail<rc_user_page>(err.reason);
  return page;
}

domain::parsed<oncall_schedule> parse_oncall_schedule(std::string_view body) {
  element doc;
  std::string why;
  if (!doc_object(body, doc, why))
    return fail<oncall_schedule>(why);
  oncall_schedule s;
  field_error err;
  if (!read_oncall_schedule(doc, s, err))
    return fail<oncall_schedule>(err.reason);
  return s;
}

domain::parsed<oncall_user> parse_oncall_user(std::string_view body) {
  element doc;
  std::string why;
  if (!doc_object(body, doc, why))
    return fail<oncall_user>(why);
  oncall_user u;
  field_error err;
  if (!read_oncall_user(doc, u, err))
    return fail<oncall_user>(err.reason);
  return u;
}

domain::parsed<oncall_page<oncall_user>> parse_oncall_users_page(std::string_view body) {
  return read_page<oncall_user>(body, read_oncall_user);
}

domain::parsed<oncall_page<oncall_schedule>> parse_oncall_schedules_page(std::string_view body) {
  return read_page<oncall_schedule>(body, read_oncall_schedule);
}

std::string parse_oncall_detail(std::string_view body) {
  element doc;
  std::string why;
  if (!doc_object(body, doc, why))
    return {};
  field_error err;
  return detail::opt_string(doc, "detail", err).value_or("");
}

} // namespace dutydesk::io
