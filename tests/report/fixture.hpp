#pragma once
// The hand-computed fixture of the report tests: November 2026, configured teams cicd, infra and qa (qa has no
// rows), a team `data` found only in the rows, a team `ops` whose rows all lie outside the period, and a request
// without a team. Every figure expected of it is worked out in tests/report/report_test.cpp.

#include <optional>
#include <string>
#include <vector>

#include "storage/records.hpp"

namespace dutydesk::report::test {

using storage::feedback_record;
using storage::millis;
using storage::request_record;

inline constexpr millis since = 1'793'491'200'000; // 2026-11-01T00:00:00Z
inline constexpr millis until = 1'796'083'200'000; // 2026-12-01T00:00:00Z

/// November `day` of 2026 at h:m:s UTC; day 0 is October 31, day 31 December 1.
constexpr millis nov(int day, int h = 0, int m = 0, int s = 0) {
  return since + ((static_cast<millis>(day - 1) * 24 + h) * 3600 + m * 60 + s) * 1000;
}

inline constexpr millis second = 1000;

inline request_record request(const std::string& id, const std::string& team, millis created,
                              std::optional<millis> first_response, std::optional<millis> resolved, int reopens) {
  request_record r;
  r.id = id;
  r.room_id = "room-" + (team.empty() ? std::string{"old"} : team);
  r.root_message_id = "msg-" + id;
  r.requester_id = "u-dave";
  r.requester_username = "dave";
  r.text = "help";
  r.status = resolved ? "done" : "open";
  r.created_at = r.updated_at = r.last_activity_at = created;
  r.closed = resolved.has_value();
  r.team = team;
  r.first_response_at = first_response;
  r.resolved_at = resolved;
  r.reopens = reopens;
  return r;
}

/// The requests, in the order requests_between returns the stored ones (created_at, id) where they are returned.
inline std::vector<request_record> requests() {
  return {
    // ops: before the period and after it only.
    request("i3", "infra", nov(-11), nov(-11) + 60 * second, nov(-6), 0),         // all in October: ignored
    request("c5", "cicd", nov(-1, 12), nov(-1, 12) + 600 * second, nov(1, 12), 0), // resolved in: 172800 s
    request("c4", "cicd", since, std::nullopt, std::nullopt, 0),                  // created at `since`: counts
    request("c1", "cicd", nov(2, 10), nov(2, 10) + 60 * second, nov(2, 11), 0),   // fr 60 s, resolution 3600 s
    request("c2", "cicd", nov(3, 9), nov(3, 9) + 300 * second, nov(3, 11), 1),    // fr 300 s, 7200 s, reopened
    request("c3", "cicd", nov(4, 12), nov(4, 12) + 120 * second, std::nullopt, 0), // fr 120 s
    request("i1", "infra", nov(10), nov(10) + 900 * second, nov(11), 2),           // fr 900 s, 86400 s, reopened
    request("i2", "infra", nov(11), nov(11) + 1800 * second, nov(11, 1, 30), 0),  // fr 1800 s, 5400 s
    request("d1", "data", nov(15), nov(15) + 45 * second, nov(30, 23, 50), 1),    // fr 45 s, 1381800 s, reopened
    request("e1", "", nov(20), nov(20) + 10 * second, std::nullopt, 0),           // no team: overall only
    request("c6", "cicd", nov(28), nov(28) + 30 * second, nov(32), 0),            // fr 30 s; resolved in December
    request("o1", "ops", until, until + 5 * second, std::nullopt, 0),             // created at `until`: ignored
  };
}

inline feedback_record survey(const std::string& request_id, std::int64_t round, const std::string& team, millis sent,
                              std::optional<int> rating) {
  feedback_record f;
  f.request_id = request_id;
  f.round = round;
  f.team = team;
  f.room_id = "room-" + team;
  f.on_duty = "carol";
  f.requester = "dave";
  f.created_at = sent - 3600 * second;
  f.resolved_at = sent;
  f.sent_at = sent;
  f.expires_at = sent + 7 * 86400 * second;
  f.state = rating ? "rated" : "expired";
  f.rating = rating;
  if (rating)
    f.rated_at = sent + 60 * second;
  return f;
}

/// The surveys, by sent_at.
inline std::vector<feedback_record> surveys() {
  return {
    survey("i3", 1, "infra", nov(-6), 1),                         // October: ignored
    survey("c5", 1, "cicd", nov(1, 12), std::nullopt),            // sent, never rated
    survey("c1", 1, "cicd", nov(2, 11), 5),
    survey("c2", 1, "cicd", nov(3, 11), 4),
    survey("c2", 2, "cicd", nov(6), 2),                           // after the reopen
    survey("i1", 1, "infra", nov(10, 6), 3),
    survey("i1", 2, "infra", nov(10, 12), 1),
    survey("i2", 1, "infra", nov(11, 1, 30), 5),
    survey("d1", 1, "data", nov(15, 0, 10), 4),
    survey("d1", 2, "data", until - 1, 5),                        // the last millisecond of the period
    survey("o1", 1, "ops", until, 3),                             // at `until`: ignored
  };
}

/// The configured teams, in config order.
inline std::vector<std::string> configured_teams() {
  return {"cicd", "infra", "qa"};
}

} // namespace dutydesk::report::test
