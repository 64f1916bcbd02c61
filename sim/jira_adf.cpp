// Jira simulator: Atlassian Document Format (ADF). Cloud v3 takes and returns ADF for descriptions, comment bodies
// and textarea fields; v2 and every webhook carry the wiki-markup string. The simulator keeps what was written and
// converts on read: ADF -> wiki markup for v2, and plain paragraphs (+ hardBreak) for text read through v3.
#include <set>

#include "sim/jira.hpp"

namespace dutydesk::sim {

namespace {

const std::set<std::string>& block_nodes() {
  static const std::set<std::string> xs = {"paragraph", "heading", "bulletList", "orderedList", "codeBlock",
                                           "blockquote", "rule", "panel", "table", "mediaSingle", "mediaGroup",
                                           "expand", "nestedExpand", "taskList", "decisionList", "blockCard",
                                           "embedCard"};
  return xs;
}

const std::set<std::string>& inline_nodes() {
  static const std::set<std::string> xs = {"text", "hardBreak", "mention", "emoji", "inlineCard", "date",
                                           "status", "mediaInline", "placeholder"};
  return xs;
}

const std::set<std::string>& marks() {
  static const std::set<std::string> xs = {"strong", "em", "code", "link", "strike", "underline", "textColor",
                                           "subsup", "backgroundColor", "border", "alignment", "indentation",
                                           "annotation"};
  return xs;
}

// Which node types may appear inside a given parent.
bool allowed_child(const std::string& parent, const std::string& child) {
  if (parent == "doc" || parent == "blockquote" || parent == "panel" || parent == "expand" ||
      parent == "nestedExpand" || parent == "tableCell" || parent == "tableHeader" || parent == "listItem")
    return block_nodes().count(child) > 0 && !(parent == "blockquote" && child == "table");
  if (parent == "paragraph" || parent == "heading")
    return inline_nodes().count(child) > 0;
  if (parent == "codeBlock")
    return child == "text";
  if (parent == "bulletList" || parent == "orderedList")
    return child == "listItem";
  if (parent == "table")
    return child == "tableRow";
  if (parent == "tableRow")
    return child == "tableCell" || child == "tableHeader";
  if (parent == "mediaSingle" || parent == "mediaGroup")
    return child == "media";
  if (parent == "taskList")
    return child == "taskItem" || child == "taskList";
  if (parent == "taskItem" || parent == "decisionItem")
    return inline_nodes().count(child) > 0;
  if (parent == "decisionList")
    return child == "decisionItem";
  return false;
}

bool valid_node(const json& node, const std::string& parent, int depth) {
  if (depth > 64 || !node.is_object())
    return false;
  auto t = node.find("type");
  if (t == node.end() || !t->is_string())
    return false;
  auto type = t->get<std::string>();
  if (!allowed_child(parent, type))
    return false;
  if (type == "text") {
    auto text = node.find("text");
    if (text == node.end() || !text->is_string() || text->get<std::string>().empty())
      return false;
    if (auto m = node.find("marks"); m != node.end()) {
      if (!m->is_array())
        return false;
      for (auto& mark : *m) {
        if (!mark.is_object() || !mark.contains("type") || !mark["type"].is_string() ||
            !marks().count(mark["type"].get<std::string>()))
          return false;
        if (mark["type"] == "link" &&
            (!mark.contains("attrs") || !mark["attrs"].is_object() || !mark["attrs"].contains("href")))
          return false;
      }
    }
    return true;
  }
  if (type == "heading") {
    auto attrs = node.find("attrs");
    if (attrs == node.end() || !attrs->is_object() || !attrs->contains("level") ||
        !(*attrs)["level"].is_number_integer())
      return false;
    auto level = (*attrs)["level"].get<int>();
    if (level < 1 || level > 6)
      return false;
  }
  if (type == "mention") {
    auto attrs = node.find("attrs");
    if (attrs == node.end() || !attrs->is_object() || !attrs->contains("id"))
      return false;
  }
  if (auto c = node.find("content"); c != node.end()) {
    if (!c->is_array())
      return false;
    for (auto& child : *c)
      if (!valid_node(child, type, depth + 1))
        return false;
  } else if (type == "bulletList" || type == "orderedList" || type == "table" || type == "tableRow" ||
             type == "listItem") {
    return false;
  }
  return true;
}

std::string attr(const json& node, const char* name) {
  if (!node.contains("attrs") || !node["attrs"].is_object())
    return {};
  auto& a = node["attrs"];
  auto i = a.find(name);
  if (i == a.end())
    return {};
  if (i->is_string())
    return i->get<std::string>();
  return i->dump();
}

std::string inline_text(const json& node);

std::string children_inline(const json& node) {
  std::string out;
  if (node.contains("content") && node["content"].is_array())
    for (auto& c : node["content"])
      out += inline_text(c);
  return out;
}

std::string inline_text(const json& node) {
  auto type = node.value("type", "");
  if (type == "text") {
    auto text = node.value("text", "");
    if (node.contains("marks"))
      for (auto& m : node["marks"]) {
        auto mt = m.value("type", "");
        if (mt == "strong")
          text = "*" + text + "*";
        else if (mt == "em")
          text = "_" + text + "_";
        else if (mt == "code")
          text = "{{" + text + "}}";
        else if (mt == "strike")
          text = "-" + text + "-";
        else if (mt == "underline")
          text = "+" + text + "+";
        else if (mt == "link")
          text = "[" + text + "|" + attr(m, "href") + "]";
      }
    return text;
  }
  if (type == "hardBreak")
    return "\n";
  if (type == "mention")
    return "[~accountid:" + attr(node, "id") + "]";
  if (type == "emoji") {
    auto t = attr(node, "text");
    return t.empty() ? attr(node, "shortName") : t;
  }
  if (type == "inlineCard")
    return attr(node, "url");
  if (type == "date")
    return attr(node, "timestamp");
  if (type == "status")
    return attr(node, "text");
  return children_inline(node);
}

std::string block_text(const json& node, const std::string& list_prefix);

std::string blocks_text(const json& node, const std::string& list_prefix, const char* sep) {
  std::string out;
  if (!node.contains("content") || !node["content"].is_array())
    return out;
  bool first = true;
  for (auto& c : node["content"]) {
    auto b = block_text(c, list_prefix);
    if (!first)
      out += sep;
    out += b;
    first = false;
  }
  return out;
}

std::string block_text(const json& node, const std::string& list_prefix) {
  auto type = node.value("type", "");
  if (type == "paragraph")
    return children_inline(node);
  if (type == "heading")
    return "h" + attr(node, "level") + ". " + children_inline(node);
  if (type == "bulletList" || type == "orderedList") {
    auto prefix = list_prefix + (type == "bulletList" ? "*" : "#");
    std::string out;
    bool first = true;
    for (auto& item : node.value("content", json::array())) {
      if (!first)
        out += "\n";
      first = false;
      std::string line;
      for (auto& part : item.value("content", json::array())) {
        auto pt = part.value("type", "");
        if (pt == "bulletList" || pt == "orderedList")
          line += "\n" + block_text(part, prefix);
        else
          line += (line.empty() ? prefix + " " : std::string{" "}) + block_text(part, prefix);
      }
      out += line;
    }
    return out;
  }
  if (type == "codeBlock") {
    auto lang = attr(node, "language");
    return "{code" + (lang.empty() ? std::string{} : ":" + lang) + "}\n" + children_inline(node) + "\n{code}";
  }
  if (type == "blockquote")
    return "{quote}\n" + blocks_text(node, "", "\n\n") + "\n{quote}";
  if (type == "rule")
    return "----";
  if (type == "panel")
    return "{panel}\n" + blocks_text(node, "", "\n\n") + "\n{panel}";
  if (type == "table") {
    std::string out;
    for (auto& row : node.value("content", json::array())) {
      if (!out.empty())
        out += "\n";
      for (auto& cell : row.value("content", json::array())) {
        auto sep = cell.value("type", "") == "tableHeader" ? "||" : "|";
        out += sep + blocks_text(cell, "", " ");
      }
      out += row.value("content", json::array()).empty() ? "" : "|";
    }
    return out;
  }
  if (inline_nodes().count(type))
    return inline_text(node);
  return blocks_text(node, list_prefix, "\n\n");
}

} // namespace

bool jira_sim::valid_adf(const json& doc) {
  if (!doc.is_object() || doc.value("type", "") != "doc")
    return false;
  auto v = doc.find("version");
  if (v == doc.end() || !v->is_number_integer() || v->get<int>() != 1)
    return false;
  auto c = doc.find("content");
  if (c == doc.end() || !c->is_array())
    return false;
  for (auto& node : *c)
    if (!valid_node(node, "doc", 1))
      return false;
  return true;
}

std::string jira_sim::adf_to_wiki(const json& doc) {
  return blocks_text(doc, "", "\n\n");
}

json jira_sim::text_to_adf(std::string_view text) {
  json content = json::array();
  size_t pos = 0;
  while (pos <= text.size() && !text.empty()) {
    auto next = text.find("\n\n", pos);
    if (next == std::string_view::npos)
      next = text.size();
    auto para = text.substr(pos, next - pos);
    json inl = json::array();
    size_t lp = 0;
    bool first = true;
    while (lp <= para.size()) {
      auto nl = para.find('\n', lp);
      if (nl == std::string_view::npos)
        nl = para.size();
      auto line = para.substr(lp, nl - lp);
      if (!first)
        inl.push_back({{"type", "hardBreak"}});
      if (!line.empty())
        inl.push_back({{"type", "text"}, {"text", std::string{line}}});
      first = false;
      lp = nl + 1;
    }
    if (!para.empty())
      content.push_back({{"type", "paragraph"}, {"content", inl}});
    pos = next + 2;
  }
  return {{"type", "doc"}, {"version", 1}, {"content", content}};
}

} // namespace dutydesk::sim
