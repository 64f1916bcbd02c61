#pragma once
// The Grafana OnCall adapter behind actors::oncall_actor: for a schedule, who is on call now (OnCall), who they are
// (OnCall users), and which Rocket.Chat users they are (users.info by username, then users.list by email). An
// OnCall failure is an answer with `oncall.failed` set, never an error: the duty actor turns it into the fallback.
// A user OnCall names but Rocket.Chat does not know is simply absent from the directory (resolution reports it as
// unmapped).

#include <caf/actor_system.hpp>

#include <memory>
#include <string>

#include "actors/interfaces.hpp"
#include "io/chat_gateway.hpp"

namespace dutydesk::io {

class io_runtime;

struct oncall_gateway_config {
  std::string base_url; // engine URL, with or without /api/v1
  std::string token;
  std::string grafana_url; // "" for none
};

class oncall_gateway {
public:
  /// `chat` gives the Rocket.Chat URL and credentials for the user lookups. @pre `runtime` runs and outlives this.
  oncall_gateway(caf::actor_system& sys, io_runtime& runtime, oncall_gateway_config config,
                 const chat_gateway_config& chat);
  ~oncall_gateway();
  oncall_gateway(const oncall_gateway&) = delete;
  oncall_gateway& operator=(const oncall_gateway&) = delete;

  actors::oncall_actor actor() const;

  /// Stops the actor.
  void stop();

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace dutydesk::io
