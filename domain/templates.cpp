#include "domain/templates.hpp"

namespace dutydesk::domain {

std::string_view to_string(template_id id) {
  switch (id) {
    case template_id::thread_intro: return "thread-intro";
    case template_id::thread_intro_fallback: return "thread-intro-fallback";
    case template_id::status_changed: return "status-changed";
    case template_id::reminder: return "reminder";
    case template_id::reminder_escalated: return "reminder-escalated";
    case template_id::refused_status: return "refused-status";
    case template_id::refused_requester: return "refused-requester";
    case template_id::refused_move: return "refused-move";
    case template_id::refused_assign: return "refused-assign";
    case template_id::unknown_status: return "unknown-status";
    case template_id::help: return "help";
    case template_id::assigned: return "assigned";
    case template_id::move_unknown_target: return "move-unknown-target";
    case template_id::move_same_room: return "move-same-room";
    case template_id::moving_note: return "moving-note";
    case template_id::moved_repost: return "moved-repost";
    case template_id::moved_note: return "moved-note";
    case template_id::closed_note: return "closed-note";
    case template_id::jira_linked: return "jira-linked";
    case template_id::jira_comment: return "jira-comment";
    case template_id::jira_status_changed: return "jira-status-changed";
    case template_id::jira_status_unmapped: return "jira-status-unmapped";
    case template_id::jira_assigned: return "jira-assigned";
    case template_id::jira_unassigned: return "jira-unassigned";
    case template_id::jira_problem: return "jira-problem";
    case template_id::jira_request: return "jira-request";
    case template_id::survey: return "survey";
    case template_id::survey_withdrawn: return "survey-withdrawn";
    case template_id::survey_expired: return "survey-expired";
    case template_id::rating_thanks: return "rating-thanks";
    case template_id::rating_again: return "rating-again";
    case template_id::rating_not_requester: return "rating-not-requester";
    case template_id::rating_invalid: return "rating-invalid";
    case template_id::rating_closed: return "rating-closed";
    case template_id::comment_saved: return "comment-saved";
    case template_id::rate_first: return "rate-first";
    case template_id::dm_help: return "dm-help";
  }
  return "unknown";
}

namespace {

std::string_view english(template_id id) {
  switch (id) {
    case template_id::thread_intro:
      return "{on_duty} new request from @{requester} · Status: {status}";
    case template_id::thread_intro_fallback:
      return "{on_duty} new request from @{requester} (no on-duty from OnCall: {reason}) · Status: {status}";
    case template_id::status_changed:
      return "@{user} changed the status: {from} → {to}.";
    case template_id::reminder:
      return "{on_duty} reminder: this request has had no answer for {idle}. Status: {status}.";
    case template_id::reminder_escalated:
      return "{on_duty} {fallback} second reminder: this request has still had no answer for {idle}. "
             "Status: {status}.";
    case template_id::refused_status:
      return "You may not change the status of request {request} in #{room}: only the on-duty, the channel members "
             "and the requester (to close it) may.";
    case template_id::refused_requester:
      return "On your own request {request} you may only set a final status: {finals}.";
    case template_id::refused_move:
      return "You may not move request {request} in #{room}: only the on-duty, the channel members and the "
             "requester may.";
    case template_id::refused_assign:
      return "You may not assign request {request} in #{room}: only the on-duty and the channel members may.";
    case template_id::unknown_status:
      return "Unknown status \"{status}\". Statuses: {statuses}.";
    case template_id::help:
      return "Commands in a request thread:\n"
             "`!dd status <id>` set the status ({statuses})\n"
             "`!dd move #<channel>` or `!dd move <service>` move the request to another channel\n"
             "`!dd assign @<user>` assign the request\n"
             "`!dd help` show this text\n"
             "The on-duty and channel members may also react to the request with a status emoji.";
    case template_id::assigned:
      return "@{user} assigned this request to @{assignee}";
    case template_id::move_unknown_target:
      return "There is no channel or service \"{target}\" to move this request to.";
    case template_id::move_same_room:
      return "This request is already in #{room}.";
    case template_id::moving_note:
      return "This request is being moved to #{target}.";
    case template_id::moved_repost:
      return "[ ]({permalink}) Moved from #{from} by @{by}. Request from @{requester}:\n{text}";
    case template_id::moved_note:
      return "Moved to #{target} by @{by}: {link}";
    case template_id::closed_note:
      return "This request was moved to #{target}; please continue there: {link}";
    case template_id::jira_linked:
      return "Jira: [{key}]({url})";
    case template_id::jira_comment:
      return "{author} (Jira): {text}";
    case template_id::jira_status_changed:
      return "{user} changed the status in Jira ({key}): {from} → {to}.";
    case template_id::jira_status_unmapped:
      return "{key} moved to \"{jira_status}\" in Jira; no chat status maps to it, so the status here stays.";
    case template_id::jira_assigned:
      return "{key} was assigned to {assignee} in Jira.";
    case template_id::jira_unassigned:
      return "{key} is unassigned in Jira now.";
    case template_id::jira_problem:
      return "Jira: {text}";
    case template_id::jira_request:
      return "{key} from {reporter} via Jira: {summary}\n{url}";
    case template_id::survey:
      return "Your request in #{room} is resolved: “{text}”\nHow did we do? Rate us from 1 (poor) to 5 (great) with a "
             "button below. After rating you can write a comment here.";
    case template_id::survey_withdrawn:
      return "Your request in #{room} (“{text}”) was reopened, so this survey is withdrawn. You will get a new one "
             "when it is resolved again.";
    case template_id::survey_expired:
      return "This survey about your request in #{room} (“{text}”) has expired.";
    case template_id::rating_thanks:
      return "Thank you! You rated us {rating} of 5. If you like, write a comment here and it is kept with your "
             "rating.";
    case template_id::rating_again:
      return "You have rated this request already ({rating} of 5); a rating can be given once. Thank you!";
    case template_id::rating_not_requester:
      return "Only the person who opened request {request} can rate it.";
    case template_id::rating_invalid:
      return "Please rate with a whole number from 1 to 5.";
    case template_id::rating_closed:
      return "There is no open survey for request {request}: it was withdrawn or has expired.";
    case template_id::comment_saved:
      return "Thank you, your comment is saved with your rating.";
    case template_id::rate_first:
      return "Please rate first (1 to 5) with a button above; then write your comment here.";
    case template_id::dm_help:
      return "In this chat I only take ratings of your resolved requests: click a button of a survey, then write a "
             "comment if you like. Requests go to your team's support channel.";
  }
  return "";
}

std::string_view russian(template_id id) {
  switch (id) {
    case template_id::thread_intro:
      return "{on_duty} новый запрос от @{requester} · Статус: {status}";
    case template_id::thread_intro_fallback:
      return "{on_duty} новый запрос от @{requester} (дежурный из OnCall не найден: {reason}) · Статус: {status}";
    case template_id::status_changed:
      return "@{user} изменил(а) статус: {from} → {to}.";
    case template_id::reminder:
      return "{on_duty} напоминание: на этот запрос нет ответа уже {idle}. Статус: {status}.";
    case template_id::reminder_escalated:
      return "{on_duty} {fallback} повторное напоминание: на этот запрос всё ещё нет ответа уже {idle}. "
             "Статус: {status}.";
    case template_id::refused_status:
      return "Вы не можете менять статус запроса {request} в #{room}: это могут дежурный, участники канала "
             "и автор запроса (чтобы закрыть его).";
    case template_id::refused_requester:
      return "В своём запросе {request} вы можете выставить только финальный статус: {finals}.";
    case template_id::refused_move:
      return "Вы не можете перенести запрос {request} из #{room}: это могут дежурный, участники канала и автор "
             "запроса.";
    case template_id::refused_assign:
      return "Вы не можете назначить запрос {request} в #{room}: это могут дежурный и участники канала.";
    case template_id::unknown_status:
      return "Неизвестный статус \"{status}\". Статусы: {statuses}.";
    case template_id::help:
      return "Команды в треде запроса:\n"
             "`!dd status <id>` выставить статус ({statuses})\n"
             "`!dd move #<канал>` или `!dd move <сервис>` перенести запрос в другой канал\n"
             "`!dd assign @<пользователь>` назначить запрос\n"
             "`!dd help` показать эту справку\n"
             "Дежурный и участники канала могут также поставить на запрос реакцию-эмодзи статуса.";
    case template_id::assigned:
      return "@{user} назначил(а) этот запрос на @{assignee}";
    case template_id::move_unknown_target:
      return "Нет канала или сервиса \"{target}\", куда можно перенести этот запрос.";
    case template_id::move_same_room:
      return "Этот запрос уже в #{room}.";
    case template_id::moving_note:
      return "Этот запрос переносится в #{target}.";
    case template_id::moved_repost:
      return "[ ]({permalink}) Перенесено из #{from} пользователем @{by}. Запрос от @{requester}:\n{text}";
    case template_id::moved_note:
      return "Перенесено в #{target} пользователем @{by}: {link}";
    case template_id::closed_note:
      return "Этот запрос перенесён в #{target}; продолжите, пожалуйста, там: {link}";
    case template_id::jira_linked:
      return "Задача в Jira: [{key}]({url})";
    case template_id::jira_comment:
      return "{author} (в Jira): {text}";
    case template_id::jira_status_changed:
      return "{user} изменил(а) статус в Jira ({key}): {from} → {to}.";
    case template_id::jira_status_unmapped:
      return "{key} переведена в \"{jira_status}\" в Jira; этому статусу ничего не соответствует, статус здесь "
             "не меняется.";
    case template_id::jira_assigned:
      return "{key} назначена на {assignee} в Jira.";
    case template_id::jira_unassigned:
      return "{key} больше ни на кого не назначена в Jira.";
    case template_id::jira_problem:
      return "Jira сообщает: {text}";
    case template_id::jira_request:
      return "{key} от {reporter} через Jira: {summary}\n{url}";
    case template_id::survey:
      return "Ваш запрос в #{room} решён: «{text}»\nКак мы справились? Оцените от 1 (плохо) до 5 (отлично) кнопкой "
             "ниже. После оценки можно написать здесь комментарий.";
    case template_id::survey_withdrawn:
      return "Ваш запрос в #{room} («{text}») снова открыт, поэтому этот опрос отменён. Новый придёт, когда запрос "
             "снова будет решён.";
    case template_id::survey_expired:
      return "Срок этого опроса о вашем запросе в #{room} («{text}») истёк.";
    case template_id::rating_thanks:
      return "Спасибо! Ваша оценка: {rating} из 5. Если хотите, напишите здесь комментарий — он сохранится вместе с "
             "оценкой.";
    case template_id::rating_again:
      return "Вы уже оценили этот запрос ({rating} из 5); оценку можно поставить один раз. Спасибо!";
    case template_id::rating_not_requester:
      return "Оценить запрос {request} может только его автор.";
    case template_id::rating_invalid:
      return "Пожалуйста, поставьте оценку целым числом от 1 до 5.";
    case template_id::rating_closed:
      return "Для запроса {request} нет открытого опроса: он отменён или его срок истёк.";
    case template_id::comment_saved:
      return "Спасибо, ваш комментарий сохранён вместе с оценкой.";
    case template_id::rate_first:
      return "Сначала поставьте оценку (от 1 до 5) кнопкой выше, затем напишите комментарий.";
    case template_id::dm_help:
      return "В этом чате я принимаю только оценки ваших решённых запросов: нажмите кнопку опроса и, если хотите, "
             "напишите комментарий. Запросы пишите в канал поддержки вашей команды.";
  }
  return "";
}

} // namespace

std::string_view template_text(template_id id, language lang) {
  return lang == language::ru ? russian(id) : english(id);
}

std::string format_template(std::string_view tmpl, std::span<const template_arg> args) {
  std::string result;
  result.reserve(tmpl.size());
  std::size_t i = 0;
  while (i < tmpl.size()) {
    char c = tmpl[i];
    if ((c == '{' || c == '}') && i + 1 < tmpl.size() && tmpl[i + 1] == c) {
      result += c;
      i += 2;
      continue;
    }
    if (c == '{') {
      auto close = tmpl.find('}', i + 1);
      if (close != std::string_view::npos) {
        auto name = tmpl.substr(i + 1, close - i - 1);
        const template_arg* found = nullptr;
        for (const auto& arg : args)
          if (arg.first == name) {
            found = &arg;
            break;
          }
        if (found != nullptr) {
          result += found->second;
          i = close + 1;
          continue;
        }
      }
    }
    result += c;
    ++i;
  }
  return result;
}

std::string render(template_id id, language lang, std::span<const template_arg> args) {
  return format_template(template_text(id, lang), args);
}

} // namespace dutydesk::domain
