// Jira simulator: the JQL subset (tokenizer, recursive-descent parser, compiler to predicates) and the search
// endpoints (DC POST/GET /rest/api/2/search with startAt/total; Cloud /rest/api/{2,3}/search/jql with
// nextPageToken/isLast). Unsupported JQL is answered with a 400 ErrorCollection like Jira's.
#include <algorithm>
#include <cctype>

#include "sim/jira.hpp"

namespace dutydesk::sim {

using namespace jira_detail;

namespace jira_detail {

struct jql_query {
  std::function<bool(const issue&)> where;  // empty = no restriction
  std::vector<std::pair<std::string, bool>> order;  // field, ascending
  bool anonymous = false;
};

} // namespace jira_detail

namespace {

std::string lower(std::string_view s) {
  std::string r{s};
  std::transform(r.begin(), r.end(), r.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return r;
}

struct jql_error {
  std::string message;
};

enum class tk { word, string, op, lparen, rparen, comma, end };

struct token {
  tk kind;
  std::string text;
  size_t pos;
};

std::vector<token> tokenize(std::string_view s) {
  std::vector<token> xs;
  size_t i = 0;
  auto special = [](char ch) {
    return std::isspace(static_cast<unsigned char>(ch)) || ch == '(' || ch == ')' || ch == ',' || ch == '=' ||
           ch == '!' || ch == '~' || ch == '<' || ch == '>' || ch == '"' || ch == '\'';
  };
  while (i < s.size()) {
    char ch = s[i];
    if (std::isspace(static_cast<unsigned char>(ch))) {
      ++i;
      continue;
    }
    size_t start = i;
    if (ch == '"' || ch == '\'') {
      std::string text;
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          text += s[i + 1];
          i += 2;
          continue;
        }
        if (s[i] == ch) {
          closed = true;
          ++i;
          break;
        }
        text += s[i++];
      }
      if (!closed)
        throw jql_error{"Error in the JQL Query: The quoted string '" + text + "' has not been completed. (line 1, "
                        "character " + std::to_string(start + 1) + ")"};
      xs.push_back({tk::string, text, start});
      continue;
    }
    if (ch == '(') {
      xs.push_back({tk::lparen, "(", i++});
      continue;
    }
    if (ch == ')') {
      xs.push_back({tk::rparen, ")", i++});
      continue;
    }
    if (ch == ',') {
      xs.push_back({tk::comma, ",", i++});
      continue;
    }
    if (ch == '=' || ch == '~') {
      xs.push_back({tk::op, std::string(1, ch), i++});
      continue;
    }
    if (ch == '!' || ch == '<' || ch == '>') {
      if (i + 1 < s.size() && (s[i + 1] == '=' || (ch == '!' && s[i + 1] == '~'))) {
        xs.push_back({tk::op, std::string{s.substr(i, 2)}, i});
        i += 2;
      } else if (ch == '!') {
        throw jql_error{"Error in the JQL Query: The character '!' is a reserved JQL character. You must enclose it "
                        "in a string or use the escape '\\u0021' instead. (line 1, character " +
                        std::to_string(i + 1) + ")"};
      } else {
        xs.push_back({tk::op, std::string(1, ch), i++});
      }
      continue;
    }
    while (i < s.size() && !special(s[i]))
      ++i;
    xs.push_back({tk::word, std::string{s.substr(start, i - start)}, start});
  }
  xs.push_back({tk::end, "", s.size()});
  return xs;
}

struct value {
  std::string text;
  bool quoted = false;
  bool function = false;
};

struct node {
  enum kind_t { and_, or_, not_, clause } kind = clause;
  std::vector<node> kids;
  std::string field, op;  // op lower-case: "=", "!=", "in", "not in", "is", "is not", "~", ...
  std::vector<value> values;
  size_t pos = 0;
};

class parser {
public:
  explicit parser(std::vector<token> xs) : xs_(std::move(xs)) {}

  std::optional<node> where() {
    if (at_keyword("order"))
      return std::nullopt;
    if (peek().kind == tk::end)
      return std::nullopt;
    return or_expr();
  }

  std::vector<std::pair<std::string, bool>> order_by() {
    std::vector<std::pair<std::string, bool>> result;
    if (peek().kind == tk::end)
      return result;
    if (!at_keyword("order"))
      fail("'AND', 'OR' or 'ORDER BY'");
    next();
    if (!at_keyword("by"))
      fail("'by'");
    next();
    while (true) {
      auto t = next();
      if (t.kind != tk::word && t.kind != tk::string)
        fail_at(t, "a field name");
      bool asc = true;
      if (at_keyword("asc")) {
        next();
      } else if (at_keyword("desc")) {
        next();
        asc = false;
      }
      result.emplace_back(lower(t.text), asc);
      if (peek().kind != tk::comma)
        break;
      next();
    }
    if (peek().kind != tk::end)
      fail("end of the query");
    return result;
  }

private:
  const token& peek() const { return xs_[pos_]; }
  token next() { return xs_[pos_ < xs_.size() - 1 ? pos_++ : pos_]; }
  bool at_keyword(const char* k) const { return peek().kind == tk::word && lower(peek().text) == k; }

  [[noreturn]] void fail_at(const token& t, const std::string& expected) const {
    std::string got = t.kind == tk::end ? "end of the query" : "'" + t.text + "'";
    throw jql_error{"Error in the JQL Query: Expecting " + expected + " but got " + got + ". (line 1, character " +
                    std::to_string(t.pos + 1) + ")"};
  }
  [[noreturn]] void fail(const std::string& expected) const { fail_at(peek(), expected); }

  node or_expr() {
    auto left = and_expr();
    if (!at_keyword("or"))
      return left;
    node n;
    n.kind = node::or_;
    n.kids.push_back(std::move(left));
    while (at_keyword("or")) {
      next();
      n.kids.push_back(and_expr());
    }
    return n;
  }

  node and_expr() {
    auto left = not_expr();
    if (!at_keyword("and"))
      return left;
    node n;
    n.kind = node::and_;
    n.kids.push_back(std::move(left));
    while (at_keyword("and")) {
      next();
      n.kids.push_back(not_expr());
    }
    return n;
  }

  node not_expr() {
    if (at_keyword("not")) {
      next();
      node n;
      n.kind = node::not_;
      n.kids.push_back(not_expr());
      return n;
    }
    if (peek().kind == tk::lparen) {
      next();
      auto inner = or_expr();
      if (peek().kind != tk::rparen)
        fail("')'");
      next();
      return inner;
    }
    return clause();
  }

  value operand() {
    auto t = next();
    if (t.kind == tk::string)
      return {t.text, true, false};
    if (t.kind != tk::word)
      fail_at(t, "either a value, list or function");
    if (peek().kind == tk::lparen) {
      next();
      if (peek().kind != tk::rparen)
        fail("')'");
      next();
      return {lower(t.text), false, true};
    }
    return {t.text, false, false};
  }

  node clause() {
    auto f = next();
    if (f.kind != tk::word && f.kind != tk::string)
      fail_at(f, "a field name");
    node n;
    n.kind = node::clause;
    n.field = lower(f.text);
    n.pos = f.pos;
    auto o = next();
    if (o.kind == tk::op) {
      n.op = o.text;
    } else if (o.kind == tk::word && lower(o.text) == "in") {
      n.op = "in";
    } else if (o.kind == tk::word && lower(o.text) == "not" && peek().kind == tk::word && lower(peek().text) == "in") {
      next();
      n.op = "not in";
    } else if (o.kind == tk::word && lower(o.text) == "is") {
      n.op = "is";
      if (at_keyword("not")) {
        next();
        n.op = "is not";
      }
    } else {
      fail_at(o, "operator");
    }
    if (n.op == "in" || n.op == "not in") {
      if (peek().kind != tk::lparen)
        fail("'('");
      next();
      while (true) {
        n.values.push_back(operand());
        if (peek().kind == tk::comma) {
          next();
          continue;
        }
        if (peek().kind != tk::rparen)
          fail("')'");
        next();
        break;
      }
    } else {
      n.values.push_back(operand());
    }
    return n;
  }

  std::vector<token> xs_;
  size_t pos_ = 0;
};

// JQL date literals: "yyyy/MM/dd HH:mm", "yyyy-MM-dd HH:mm", "yyyy/MM/dd", "yyyy-MM-dd" or periods like "-5d".
std::optional<int64_t> parse_jql_date(std::string_view s, int64_t now) {
  auto digits = [&](size_t pos, size_t n) -> std::optional<int> {
    if (pos + n > s.size())
      return std::nullopt;
    int v = 0;
    for (size_t k = pos; k < pos + n; ++k) {
      if (!std::isdigit(static_cast<unsigned char>(s[k])))
        return std::nullopt;
      v = v * 10 + (s[k] - '0');
    }
    return v;
  };
  if (s.size() >= 10 && (s[4] == '-' || s[4] == '/') && s[7] == s[4]) {
    auto y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2);
    if (!y || !mo || !d)
      return std::nullopt;
    std::string iso = std::string{s.substr(0, 4)} + "-" + std::string{s.substr(5, 2)} + "-" +
                      std::string{s.substr(8, 2)};
    if (s.size() == 10)
      return parse_iso8601(iso + "T00:00:00Z");
    if (s.size() == 16 && s[10] == ' ' && s[13] == ':' && digits(11, 2) && digits(14, 2))
      return parse_iso8601(iso + "T" + std::string{s.substr(11, 5)} + ":00Z");
    return std::nullopt;
  }
  // Period: [+-] then groups of <n><w|d|h|m> optionally separated by spaces.
  size_t i = 0;
  int sign = 1;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
    sign = s[i] == '-' ? -1 : 1;
    ++i;
  }
  int64_t total = 0;
  bool any = false;
  while (i < s.size()) {
    if (s[i] == ' ') {
      ++i;
      continue;
    }
    int64_t n = 0;
    size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
      n = n * 10 + (s[i++] - '0');
    if (i == start || i >= s.size())
      return std::nullopt;
    switch (std::tolower(static_cast<unsigned char>(s[i]))) {
    case 'w': total += n * 7 * 86400000; break;
    case 'd': total += n * 86400000; break;
    case 'h': total += n * 3600000; break;
    case 'm': total += n * 60000; break;
    default: return std::nullopt;
    }
    ++i;
    any = true;
  }
  if (!any)
    return std::nullopt;
  return now + sign * total;
}

using pred = std::function<bool(const issue&)>;

} // namespace

std::shared_ptr<jql_query> jira_sim::compile_jql(std::string_view text, std::optional<size_t> viewer,
                                                 std::string& error) const {
  try {
    parser p{tokenize(text)};
    auto where = p.where();
    auto q = std::make_shared<jql_query>();
    q->order = p.order_by();
    q->anonymous = !viewer;
    static const std::set<std::string> sortable = {"updated", "created", "key", "issuekey", "id", "priority",
                                                   "status", "summary", "resolved", "resolutiondate",
                                                   "updateddate", "createddate", "assignee"};
    for (auto& [f, asc] : q->order)
      if (!sortable.count(f))
        throw jql_error{"Not able to sort using field '" + f + "'."};
    if (!where)
      return q;

    auto now = clock_.now_ms();
    auto bad_op = [](const node& n, const std::string& field) {
      std::string op = n.op;
      std::transform(op.begin(), op.end(), op.begin(), [](unsigned char ch) { return std::toupper(ch); });
      return jql_error{"The operator '" + op + "' is not supported by the '" + field + "' field."};
    };
    auto no_value = [](const std::string& v, const std::string& field) {
      return jql_error{"The value '" + v + "' does not exist for the field '" + field + "'."};
    };
    auto is_empty_value = [](const value& v) {
      auto l = lower(v.text);
      return !v.quoted && !v.function && (l == "empty" || l == "null");
    };

    // Set-membership clause over string ids: = != in, not in, is [not] EMPTY.
    auto set_clause = [&](const node& n, const std::string& field, std::function<std::string(const value&)> resolve,
                          std::function<std::vector<std::string>(const issue&)> get) -> pred {
      const auto& op = n.op;
      if (op == "is" || op == "is not") {
        if (!is_empty_value(n.values[0]))
          throw jql_error{"Error in the JQL Query: Expecting 'EMPTY' or 'NULL' after 'IS'."};
        bool want_empty = op == "is";
        return [get, want_empty](const issue& i) { return get(i).empty() == want_empty; };
      }
      if (op != "=" && op != "!=" && op != "in" && op != "not in")
        throw bad_op(n, field);
      std::set<std::string> ids;
      bool match_empty = false;
      for (auto& v : n.values) {
        if (is_empty_value(v)) {
          match_empty = true;
          continue;
        }
        ids.insert(resolve(v));
      }
      bool negate = op == "!=" || op == "not in";
      return [get, ids, negate, match_empty](const issue& i) {
        auto xs = get(i);
        bool hit = xs.empty() ? match_empty : std::any_of(xs.begin(), xs.end(), [&](auto& x) { return ids.count(x); });
        // Jira's != and NOT IN never match issues where the field is empty.
        if (negate)
          return !xs.empty() && !hit;
        return hit;
      };
    };

    auto user_resolve = [&](const std::string& field) {
      return [this, viewer, field, no_value](const value& v) -> std::string {
        if (v.function) {
          if (v.text != "currentuser")
            throw jql_error{"Unable to find JQL function '" + v.text + "()'."};
          if (!viewer)
            throw jql_error{"The function 'currentUser' cannot be used by anonymous users."};
          return std::to_string(*viewer);
        }
        std::optional<size_t> u = cloud() ? find_user_by_account(v.text) : find_user_by_name(v.text);
        if (!u && !cloud())
          u = find_user_by_key(v.text);
        if (!u)
          throw no_value(v.text, field);
        return std::to_string(*u);
      };
    };

    std::function<pred(const node&)> compile = [&](const node& n) -> pred {
      if (n.kind == node::and_ || n.kind == node::or_) {
        std::vector<pred> kids;
        for (auto& k : n.kids)
          kids.push_back(compile(k));
        bool is_and = n.kind == node::and_;
        return [kids, is_and](const issue& i) {
          for (auto& k : kids)
            if (k(i) != is_and)
              return !is_and;
          return is_and;
        };
      }
      if (n.kind == node::not_) {
        auto k = compile(n.kids[0]);
        return [k](const issue& i) { return !k(i); };
      }
      auto& f = n.field;
      if (n.values.size() > 1 && n.op != "in" && n.op != "not in")
        throw jql_error{"Error in the JQL Query: unexpected list."};
      if (f == "project" && (n.op == "=" || n.op == "!=" || n.op == "in" || n.op == "not in")) {
        // The hot path of every poll: compare project indices directly.
        std::vector<bool> in(projects_.size(), false);
        for (auto& v : n.values) {
          auto idx = viewer && !is_empty_value(v) ? find_project(v.text) : std::nullopt;
          for (size_t k = 0; !idx && viewer && k < projects_.size(); ++k)
            if (lower(projects_[k].name) == lower(v.text))
              idx = k;
          if (!idx)
            throw no_value(v.text, "project");
          in[*idx] = true;
        }
        bool negate = n.op == "!=" || n.op == "not in";
        return [in, negate](const issue& i) { return in[i.project] != negate; };
      }
      if (f == "project") {
        return set_clause(n, "project", [&](const value& v) {
          auto idx = viewer ? find_project(v.text) : std::nullopt;
          if (!idx) {
            for (size_t k = 0; viewer && k < projects_.size(); ++k)
              if (lower(projects_[k].name) == lower(v.text))
                idx = k;
          }
          if (!idx)
            throw no_value(v.text, "project");
          return std::to_string(*idx);
        }, [](const issue& i) { return std::vector<std::string>{std::to_string(i.project)}; });
      }
      if (f == "key" || f == "issuekey" || f == "id" || f == "issue") {
        auto resolve_key = [&](const value& v) -> const issue* {
          auto* i = find_issue(v.text);
          auto dash = v.text.rfind('-');
          bool looks_like_key = dash != std::string::npos && dash > 0 && dash + 1 < v.text.size() &&
                                std::all_of(v.text.begin() + static_cast<long>(dash) + 1, v.text.end(),
                                            [](unsigned char ch) { return std::isdigit(ch); });
          bool numeric = !v.text.empty() && std::all_of(v.text.begin(), v.text.end(),
                                                        [](unsigned char ch) { return std::isdigit(ch); });
          if (!looks_like_key && !numeric)
            throw jql_error{"The issue key '" + v.text + "' for field '" + f + "' is invalid."};
          if (!i || !viewer)
            throw jql_error{"An issue with key '" + v.text + "' does not exist for field '" + f + "'."};
          return i;
        };
        if (n.op == "=" || n.op == "!=" || n.op == "in" || n.op == "not in") {
          std::set<int64_t> ids;
          for (auto& v : n.values)
            ids.insert(resolve_key(v)->id);
          bool negate = n.op == "!=" || n.op == "not in";
          return [ids, negate](const issue& i) { return (ids.count(i.id) > 0) != negate; };
        }
        if (n.op == "<" || n.op == "<=" || n.op == ">" || n.op == ">=") {
          auto* ref = resolve_key(n.values[0]);
          auto number = [](const issue& i) { return std::stoll(i.key.substr(i.key.rfind('-') + 1)); };
          auto proj = ref->project;
          auto rn = number(*ref);
          auto op = n.op;
          return [proj, rn, op, number](const issue& i) {
            if (i.project != proj)
              return false;
            auto x = number(i);
            return op == "<" ? x < rn : op == "<=" ? x <= rn : op == ">" ? x > rn : x >= rn;
          };
        }
        throw bad_op(n, f);
      }
      if (f == "labels" || f == "label") {
        return set_clause(n, "labels", [](const value& v) { return v.text; },
                          [](const issue& i) { return i.f.labels; });
      }
      if (f == "status") {
        return set_clause(n, "status", [&](const value& v) {
          auto* s = status(v.text);
          if (!s)
            s = status_by_name(v.text);
          if (!s)
            throw no_value(v.text, "status");
          return s->id;
        }, [](const issue& i) { return std::vector<std::string>{i.f.status}; });
      }
      if (f == "statuscategory") {
        return set_clause(n, "statusCategory", [&](const value& v) -> std::string {
          auto l = lower(v.text);
          if (l == "new" || l == "to do" || l == "2")
            return "new";
          if (l == "indeterminate" || l == "in progress" || l == "4")
            return "indeterminate";
          if (l == "done" || l == "complete" || l == "3")
            return "done";
          if (l == "undefined" || l == "no category" || l == "1")
            return "undefined";
          throw no_value(v.text, "statusCategory");
        }, [this](const issue& i) {
          auto* s = status(i.f.status);
          return std::vector<std::string>{s ? s->category : "undefined"};
        });
      }
      if (f == "assignee" || f == "reporter" || f == "creator") {
        auto get = [f](const issue& i) -> std::vector<std::string> {
          std::optional<size_t> u = f == "assignee" ? i.f.assignee : f == "reporter" ? i.f.reporter : i.creator;
          if (!u)
            return {};
          return {std::to_string(*u)};
        };
        return set_clause(n, f, user_resolve(f), get);
      }
      if (f == "resolution") {
        return set_clause(n, "resolution", [&](const value& v) -> std::string {
          if (lower(v.text) == "unresolved")
            return "";
          for (auto& r : resolutions_)
            if (r.id == v.text || lower(r.name) == lower(v.text))
              return r.id;
          throw no_value(v.text, "resolution");
        }, [](const issue& i) {
          return i.f.resolution ? std::vector<std::string>{*i.f.resolution} : std::vector<std::string>{};
        });
      }
      if (f == "issuetype" || f == "type") {
        return set_clause(n, "issuetype", [&](const value& v) -> std::string {
          for (auto& p : projects_)
            for (auto& t : p.issue_types)
              if (t.id == v.text || lower(t.name) == lower(v.text))
                return t.id;
          throw no_value(v.text, "issuetype");
        }, [](const issue& i) { return std::vector<std::string>{i.issuetype}; });
      }
      if (f == "priority") {
        return set_clause(n, "priority", [&](const value& v) -> std::string {
          for (auto& p : priorities_)
            if (p.id == v.text || lower(p.name) == lower(v.text))
              return p.id;
          throw no_value(v.text, "priority");
        }, [](const issue& i) { return std::vector<std::string>{i.f.priority}; });
      }
      if (f == "updated" || f == "updateddate" || f == "created" || f == "createddate" || f == "resolved" ||
          f == "resolutiondate") {
        int which = (f == "updated" || f == "updateddate") ? 0 : (f == "created" || f == "createddate") ? 1 : 2;
        auto get = [which](const issue& i) -> std::optional<int64_t> {
          if (which == 0)
            return i.updated;
          if (which == 1)
            return i.created;
          return i.resolutiondate;
        };
        if (n.op == "is" || n.op == "is not") {
          if (!is_empty_value(n.values[0]))
            throw jql_error{"Error in the JQL Query: Expecting 'EMPTY' or 'NULL' after 'IS'."};
          bool want_empty = n.op == "is";
          return [get, want_empty](const issue& i) { return !get(i).has_value() == want_empty; };
        }
        auto& v = n.values[0];
        std::optional<int64_t> t;
        if (v.function) {
          if (v.text == "now")
            t = now;
          else if (v.text == "startofday")
            t = now - (now % 86400000);
          else if (v.text == "endofday")
            t = now - (now % 86400000) + 86400000 - 1;
          else
            throw jql_error{"Unable to find JQL function '" + v.text + "()'."};
        } else {
          t = parse_jql_date(v.text, now);
        }
        if (!t)
          throw jql_error{"Date value '" + v.text + "' for field '" + f + "' is invalid. Valid formats include: "
                          "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
                          "format e.g. '-5d', '4w 2d'."};
        auto ref = *t;
        auto op = n.op;
        if (op != "=" && op != "!=" && op != "<" && op != "<=" && op != ">" && op != ">=")
          throw bad_op(n, f);
        return [get, ref, op](const issue& i) {
          auto x = get(i);
          if (!x)
            return false;
          // JQL date literals have minute precision: "=" matches the whole minute.
          if (op == "=")
            return *x >= ref && *x < ref + 60000;
          if (op == "!=")
            return *x < ref || *x >= ref + 60000;
          return op == "<" ? *x < ref : op == "<=" ? *x <= ref : op == ">" ? *x > ref : *x >= ref;
        };
      }
      if (f == "summary" || f == "description" || f == "text" || f == "comment") {
        if (n.op == "is" || n.op == "is not") {
          if (f != "description" || !is_empty_value(n.values[0]))
            throw bad_op(n, f);
          bool want_empty = n.op == "is";
          return [want_empty](const issue& i) { return !i.f.description.present == want_empty; };
        }
        if (n.op != "~" && n.op != "!~")
          throw bad_op(n, f);
        auto needle = lower(n.values[0].text);
        while (!needle.empty() && (needle.back() == '*' || needle.back() == ' '))
          needle.pop_back();
        bool negate = n.op == "!~";
        return [needle, negate, f](const issue& i) {
          auto has = [&](const std::string& s) { return lower(s).find(needle) != std::string::npos; };
          bool hit = false;
          if (f == "summary" || f == "text")
            hit = hit || has(i.f.summary);
          if (f == "description" || f == "text")
            hit = hit || (i.f.description.present && has(i.f.description.text));
          if (f == "comment" || f == "text")
            for (auto& c : i.comments)
              hit = hit || has(c.body.text);
          return hit != negate;
        };
      }
      // Custom fields: by id ("cf[10100]", "customfield_10100") or by name ("Service").
      const field_def* cf = nullptr;
      for (auto& d : custom_fields_)
        if (lower(d.name) == f || d.id == f || "cf[" + std::to_string(d.custom_id) + "]" == f)
          cf = &d;
      if (!cf)
        throw jql_error{"Field '" + n.field + "' does not exist or you do not have permission to view it."};
      if (cf->kind != "select" && cf->kind != "multiselect" && cf->kind != "labels" && cf->kind != "text")
        throw jql_error{"The simulator's JQL does not support searching field '" + cf->name + "' of this type."};
      auto id = cf->id;
      auto kind = cf->kind;
      auto options = cf->options;
      return set_clause(n, cf->name, [options, kind, no_value, cf](const value& v) -> std::string {
        if (kind == "labels" || kind == "text")
          return v.text;
        for (auto& o : options)
          if (o.id == v.text || lower(o.value) == lower(v.text))
            return o.id;
        throw no_value(v.text, cf->name);
      }, [id](const issue& i) -> std::vector<std::string> {
        auto it = i.f.custom.find(id);
        if (it == i.f.custom.end() || it->second.is_null())
          return {};
        if (it->second.is_string())
          return {it->second.get<std::string>()};
        std::vector<std::string> xs;
        if (it->second.is_array())
          for (auto& x : it->second)
            xs.push_back(x.get<std::string>());
        return xs;
      });
    };
    q->where = compile(*where);
    return q;
  } catch (const jql_error& e) {
    error = e.message;
    return nullptr;
  }
}

bool jira_sim::jql_matches(const jql_query& q, const issue& i) const {
  return !q.where || q.where(i);
}

bool jira_sim::jql_bounded(const jql_query& q) {
  return static_cast<bool>(q.where);
}

std::vector<const issue*> jira_sim::run_jql(const jql_query& q) const {
  std::vector<const issue*> xs;
  if (q.anonymous)
    return xs;  // anonymous users cannot browse any project here
  for (auto& i : issues_)
    if (jql_matches(q, i))
      xs.push_back(&i);
  auto key_of = [&](const issue& i, const std::string& f) -> std::pair<int64_t, std::string> {
    if (f == "updated" || f == "updateddate")
      return {i.updated, {}};
    if (f == "created" || f == "createddate" || f == "id")
      return {f == "id" ? i.id : i.created, {}};
    if (f == "resolved" || f == "resolutiondate")
      return {i.resolutiondate.value_or(0), {}};
    if (f == "key" || f == "issuekey")
      return {std::stoll(i.key.substr(i.key.rfind('-') + 1)), projects_[i.project].key};
    if (f == "priority")
      return {-std::stoll(i.f.priority.empty() ? "0" : i.f.priority), {}};
    if (f == "status")
      return {0, status(i.f.status) ? status(i.f.status)->name : ""};
    if (f == "assignee")
      return {0, i.f.assignee ? users_[*i.f.assignee].display_name : ""};
    return {0, i.f.summary};
  };
  auto order = q.order;
  if (order.empty())
    order.emplace_back("id", false);
  // Compute the sort keys once per hit, then sort indices.
  std::vector<std::vector<std::pair<int64_t, std::string>>> keys(xs.size());
  for (size_t k = 0; k < xs.size(); ++k)
    for (auto& [f, asc] : order)
      keys[k].push_back(key_of(*xs[k], f));
  std::vector<size_t> idx(xs.size());
  for (size_t k = 0; k < idx.size(); ++k)
    idx[k] = k;
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    for (size_t o = 0; o < order.size(); ++o) {
      auto& ka = keys[a][o];
      auto& kb = keys[b][o];
      auto cmp_a = std::tie(ka.second, ka.first), cmp_b = std::tie(kb.second, kb.first);
      if (cmp_a == cmp_b)
        continue;
      return order[o].second ? cmp_a < cmp_b : cmp_b < cmp_a;
    }
    return xs[a]->id < xs[b]->id;
  });
  std::vector<const issue*> sorted;
  sorted.reserve(xs.size());
  for (auto k : idx)
    sorted.push_back(xs[k]);
  return sorted;
}

namespace {

std::vector<std::string> as_list(const json& v) {
  std::vector<std::string> xs;
  if (v.is_string())
    xs.push_back(v.get<std::string>());
  else if (v.is_array())
    for (auto& x : v)
      if (x.is_string())
        xs.push_back(x.get<std::string>());
  return xs;
}

std::set<std::string> expand_set(const std::vector<std::string>& xs) {
  std::set<std::string> out;
  for (auto& x : xs) {
    size_t pos = 0;
    while (pos <= x.size()) {
      auto next = x.find(',', pos);
      if (next == std::string::npos)
        next = x.size();
      if (next > pos)
        out.insert(x.substr(pos, next - pos));
      pos = next + 1;
    }
  }
  return out;
}

std::string b64url(std::string_view in) {
  static constexpr char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  for (unsigned char ch : in) {
    buf = (buf << 8) | ch;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += tbl[(buf >> bits) & 63u];
    }
  }
  if (bits > 0)
    out += tbl[(buf << (6 - bits)) & 63u];
  return out;
}

} // namespace

http_response jira_sim::search_dc(ctx& c) {
  json body = json::object();
  if (c.req.method == "POST") {
    auto parsed = parse_json(c.req.body);
    if (!parsed || !parsed->is_object())
      return reply(400, errors({"Unexpected character in the request body: not valid JSON."}));
    body = *parsed;
  } else if (c.req.method == "GET") {
    if (auto v = c.req.param("jql"))
      body["jql"] = *v;
    body["startAt"] = int_param(c.req, "startAt", 0);
    body["maxResults"] = int_param(c.req, "maxResults", 50);
    std::vector<std::string> fs, ex;
    for (auto [b, e] = c.req.query.equal_range("fields"); b != e; ++b)
      fs.push_back(b->second);
    for (auto [b, e] = c.req.query.equal_range("expand"); b != e; ++b)
      ex.push_back(b->second);
    if (!fs.empty())
      body["fields"] = fs;
    if (!ex.empty())
      body["expand"] = ex;
  } else {
    return reply(405, errors({"Method not allowed"}));
  }
  auto jql = body.value("jql", std::string{});
  std::string err;
  auto q = compile_jql(jql, c.user, err);
  if (!q)
    return reply(400, errors({err}));
  auto start = body.value("startAt", int64_t{0});
  auto max = body.value("maxResults", int64_t{50});
  if (start < 0)
    start = 0;
  if (max < 0)
    max = 50;
  max = std::min<int64_t>(max, 1000);  // jira.search.views.default.max
  auto fields = parse_field_selection(as_list(body.value("fields", json::array({"*navigable"}))), all_field_ids());
  auto expand = expand_set(as_list(body.value("expand", json::array())));
  auto hits = run_jql(*q);
  json issues = json::array();
  for (int64_t k = start; k < static_cast<int64_t>(hits.size()) && k < start + max; ++k)
    issues.push_back(issue_json(*hits[static_cast<size_t>(k)], c.api, fields, expand));
  json out = {{"expand", "schema,names"}, {"startAt", start}, {"maxResults", max}, {"total", hits.size()},
              {"issues", issues}};
  if (expand.count("names"))
    out["names"] = field_names_json();
  return reply(200, out);
}

http_response jira_sim::search_jql(ctx& c) {
  json body = json::object();
  auto invalid = [&] {
    return reply(400, errors({"Invalid request payload. Refer to the REST API documentation and try again."}));
  };
  if (c.req.method == "POST") {
    auto parsed = parse_json(c.req.body);
    if (!parsed || !parsed->is_object())
      return invalid();
    body = *parsed;
    static const std::set<std::string> allowed = {"jql", "maxResults", "fields", "expand", "properties",
                                                  "fieldsByKeys", "nextPageToken", "reconcileIssues"};
    for (auto& [k, v] : body.items())
      if (!allowed.count(k))
        return invalid();
    if ((body.contains("jql") && !body["jql"].is_string()) ||
        (body.contains("maxResults") && !body["maxResults"].is_number_integer()) ||
        (body.contains("fields") && !body["fields"].is_array()) ||
        (body.contains("expand") && !body["expand"].is_string()) ||
        (body.contains("nextPageToken") && !body["nextPageToken"].is_string() && !body["nextPageToken"].is_null()))
      return invalid();
  } else if (c.req.method == "GET") {
    if (auto v = c.req.param("jql"))
      body["jql"] = *v;
    if (auto v = c.req.param("maxResults"))
      body["maxResults"] = int_param(c.req, "maxResults", 50);
    if (auto v = c.req.param("nextPageToken"))
      body["nextPageToken"] = *v;
    if (auto v = c.req.param("expand"))
      body["expand"] = *v;
    std::vector<std::string> fs;
    for (auto [b, e] = c.req.query.equal_range("fields"); b != e; ++b)
      fs.push_back(b->second);
    if (!fs.empty())
      body["fields"] = fs;
  } else {
    return reply(405, errors({"Method not allowed"}));
  }
  auto jql = body.value("jql", std::string{});
  std::string err;
  auto q = compile_jql(jql, c.user, err);
  if (!q)
    return reply(400, errors({err}));
  if (!jql_bounded(*q))
    return reply(400, errors({"Unbounded JQL queries are not allowed here. Please add a search restriction to "
                              "your query."}));
  int64_t start = 0;
  if (body.contains("nextPageToken") && body["nextPageToken"].is_string()) {
    auto token = body["nextPageToken"].get<std::string>();
    bool ok = false;
    // Tokens are b64url("sim:<offset>"): opaque to clients, like Jira's.
    std::string decoded;
    {
      unsigned buf = 0;
      int bits = 0;
      for (char ch : token) {
        int v = ch >= 'A' && ch <= 'Z' ? ch - 'A' : ch >= 'a' && ch <= 'z' ? ch - 'a' + 26
                : ch >= '0' && ch <= '9' ? ch - '0' + 52 : ch == '-' ? 62 : ch == '_' ? 63 : -1;
        if (v < 0) {
          decoded.clear();
          break;
        }
        buf = (buf << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
          bits -= 8;
          decoded += static_cast<char>((buf >> bits) & 0xffu);
        }
      }
    }
    if (decoded.rfind("sim:", 0) == 0) {
      start = 0;
      ok = decoded.size() > 4;
      for (size_t k = 4; k < decoded.size(); ++k) {
        if (!std::isdigit(static_cast<unsigned char>(decoded[k]))) {
          ok = false;
          break;
        }
        start = start * 10 + (decoded[k] - '0');
      }
    }
    if (!ok)
      return reply(400, errors({"The provided next page token is invalid or expired."}));
  }
  auto field_list = as_list(body.value("fields", json::array()));
  bool ids_only = field_list.empty() || (field_list.size() == 1 && (field_list[0] == "id" || field_list[0] == "key"));
  auto max = body.value("maxResults", int64_t{50});
  if (max <= 0)
    max = 50;
  max = std::min<int64_t>(max, ids_only ? 5000 : 100);
  auto fields = field_list.empty() ? std::optional<std::set<std::string>>{} :
                parse_field_selection(field_list, all_field_ids());
  auto expand = expand_set(as_list(body.value("expand", json())));
  auto hits = run_jql(*q);
  json issues = json::array();
  for (int64_t k = start; k < static_cast<int64_t>(hits.size()) && k < start + max; ++k) {
    auto& i = *hits[static_cast<size_t>(k)];
    if (field_list.empty()) {
      issues.push_back({{"id", std::to_string(i.id)}});
      continue;
    }
    auto only = fields;
    if (only) {
      only->erase("id");
      only->erase("key");
    }
    issues.push_back(issue_json(i, c.api, only, expand));
  }
  bool last = start + max >= static_cast<int64_t>(hits.size());
  json out = {{"issues", issues}, {"isLast", last}};
  if (!last)
    out["nextPageToken"] = b64url("sim:" + std::to_string(start + max));
  if (expand.count("names"))
    out["names"] = field_names_json();
  return reply(200, out);
}

} // namespace dutydesk::sim
