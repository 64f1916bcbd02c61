#pragma once
// The storage actor's interface is wide (requests, cursors, the Jira outbox and inbox); a fake implements the part
// its tests use and takes the rest from storage_behavior().

#include <caf/typed_event_based_actor.hpp>

#include <string>
#include <utility>
#include <vector>

#include "actors/interfaces.hpp"

namespace dutydesk::test {

/// A storage behaviour of `core` (the request handlers a fake implements) plus the Jira bridge's handlers answering
/// an empty store: no outbox rows, links, comments or inbox rows; writes succeed.
template <class... Handlers>
actors::storage_actor::behavior_type storage_behavior(Handlers... core) {
  return {
    std::move(core)...,
    [](atom::jira, actors::jira_ops_query&) { return std::vector<storage::jira_op>{}; },
    [](atom::jira, actors::jira_op_update&) { return true; },
    [](atom::jira, actors::jira_link_query&) { return actors::jira_link_answer{}; },
    [](atom::jira, storage::jira_link&) { return true; },
    [](atom::jira, storage::jira_comment_link&) { return true; },
    [](atom::jira, actors::jira_comment_query&) { return actors::jira_comment_answer{}; },
    [](atom::inbox, storage::inbox_delivery&) { return true; },
    [](atom::inbox, std::size_t) { return std::vector<storage::inbox_delivery>{}; },
    [](atom::inbox, actors::inbox_done&) { return true; },
    [](atom::inbox, actors::inbox_prune&) { return std::size_t{0}; },
    [](atom::get, std::string&) { return std::string{}; },
    [](atom::save, std::string&, std::string&) { return true; },
    [](atom::events, actors::events_query&) { return std::vector<storage::outbox_event>{}; },
    [](atom::events, actors::events_sent&) { return true; },
    [](atom::gauges, const std::string&) { return actors::storage_gauges{}; },
  };
}

} // namespace dutydesk::test
