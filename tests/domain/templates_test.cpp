#include "domain/templates.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

using namespace dutydesk::domain;

namespace {

std::string fmt(std::string_view tmpl, std::vector<template_arg> args) {
  return format_template(tmpl, args);
}

constexpr template_id all_ids[] = {
  template_id::thread_intro,     template_id::thread_intro_fallback, template_id::status_changed,
  template_id::reminder,         template_id::reminder_escalated,    template_id::refused_status,
  template_id::refused_requester, template_id::refused_move,         template_id::refused_assign,
  template_id::unknown_status,   template_id::help,                  template_id::assigned,
  template_id::move_unknown_target, template_id::move_same_room,     template_id::moving_note,
  template_id::moved_repost,     template_id::moved_note,            template_id::closed_note,
  template_id::jira_linked,      template_id::jira_comment,          template_id::jira_status_changed,
  template_id::jira_status_unmapped, template_id::jira_assigned,     template_id::jira_unassigned,
  template_id::jira_problem,     template_id::jira_request,          template_id::survey,
  template_id::survey_withdrawn, template_id::survey_expired,        template_id::rating_thanks,
  template_id::rating_again,     template_id::rating_not_requester,  template_id::rating_invalid,
  template_id::rating_closed,    template_id::comment_saved,         template_id::rate_first,
  template_id::dm_help,
};

} // namespace

TEST(templates, formatter_fills_placeholders) {
  EXPECT_EQ(fmt("{a} and {b}, {a}", {{"a", "x"}, {"b", "y"}}), "x and y, x");
  EXPECT_EQ(fmt("no placeholders", {}), "no placeholders");
  EXPECT_EQ(fmt("{{literal}} {a}", {{"a", "1"}}), "{literal} 1");
  EXPECT_EQ(fmt("{missing} stays", {{"a", "1"}}), "{missing} stays");
  EXPECT_EQ(fmt("unclosed {a", {{"a", "1"}}), "unclosed {a");
  EXPECT_EQ(fmt("{a}", {{"a", "{b}"}, {"b", "no"}}), "{b}"); // values are not re-expanded
}

TEST(templates, every_text_exists_in_both_languages_and_differs) {
  for (auto id : all_ids) {
    auto en = template_text(id, language::en);
    auto ru = template_text(id, language::ru);
    EXPECT_FALSE(en.empty()) << to_string(id);
    EXPECT_FALSE(ru.empty()) << to_string(id);
    EXPECT_NE(en, ru) << to_string(id);
    EXPECT_NE(to_string(id), "unknown");
  }
}

TEST(templates, both_languages_use_the_same_placeholders) {
  auto placeholders = [](std::string_view t) {
    std::vector<std::string> result;
    for (std::size_t i = t.find('{'); i != std::string_view::npos; i = t.find('{', i + 1)) {
      auto close = t.find('}', i);
      result.emplace_back(t.substr(i, close - i + 1));
    }
    std::sort(result.begin(), result.end());
    result.erase(std::unique(result.begin(), result.end()), result.end());
    return result;
  };
  for (auto id : all_ids)
    EXPECT_EQ(placeholders(template_text(id, language::en)), placeholders(template_text(id, language::ru)))
      << to_string(id);
}

TEST(templates, render_picks_the_language) {
  std::vector<template_arg> args{{"on_duty", "@alice"}, {"requester", "carol"}, {"status", "New"}};
  EXPECT_EQ(render(template_id::thread_intro, language::en, args), "@alice new request from @carol · Status: New");
  EXPECT_EQ(render(template_id::thread_intro, language::ru, args), "@alice новый запрос от @carol · Статус: New");
}

TEST(templates, help_lists_every_command) {
  for (auto lang : {language::en, language::ru}) {
    auto help = std::string{template_text(template_id::help, lang)};
    for (auto cmd : {"!dd status", "!dd move", "!dd assign", "!dd help", "{statuses}"})
      EXPECT_NE(help.find(cmd), std::string::npos) << cmd;
  }
}
