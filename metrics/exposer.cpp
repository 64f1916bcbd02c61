#include "metrics/exposer.hpp"

#include <exception>
#include <utility>

#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include "metrics/registry.hpp"

namespace dutydesk::metrics {

exposer::exposer(std::shared_ptr<registry> reg, std::string host, std::uint16_t port)
    : reg_(std::move(reg)), host_(std::move(host)), port_(port) {}

exposer::~exposer() { stop(); }

std::string exposer::listen() {
  if (exposer_)
    return {};
  // civetweb spells an IPv6 listening address in brackets.
  auto address = (host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
  try {
    auto ex = std::make_unique<prometheus::Exposer>(address, 2);
    auto ports = ex->GetListeningPorts();
    if (ports.empty())
      return "metrics exposer on " + address + " is not listening";
    ex->RegisterCollectable(reg_->prometheus());
    bound_port_ = static_cast<std::uint16_t>(ports.front());
    exposer_ = std::move(ex);
    return {};
  } catch (const std::exception& e) {
    // CivetServer throws when the port is taken or the address cannot be bound.
    return "metrics exposer cannot listen on " + address + ": " + e.what();
  }
}

std::uint16_t exposer::port() const { return exposer_ ? bound_port_ : 0; }

void exposer::stop() {
  exposer_.reset();
  bound_port_ = 0;
}

} // namespace dutydesk::metrics
