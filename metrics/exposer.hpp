#pragma once
// Serves a metrics::registry as Prometheus text on GET /metrics (prometheus-cpp's Exposer, civetweb threads) at
// `metrics.listen`. Binding happens in listen(), which reports a taken port or a bad address as text instead of
// letting civetweb's exception escape. Scrapes run on civetweb's own threads; the registry is thread-safe.

#include <cstdint>
#include <memory>
#include <string>

namespace prometheus {
class Exposer;
}

namespace dutydesk::metrics {

class registry;

class exposer {
public:
  /// Prepares to serve `reg` on `host`:`port` (an IP address literal; port 0 lets the OS pick one).
  exposer(std::shared_ptr<registry> reg, std::string host, std::uint16_t port);
  /// Stops serving (see stop()).
  ~exposer();
  exposer(const exposer&) = delete;
  exposer& operator=(const exposer&) = delete;

  /// Binds and starts serving GET /metrics; returns "" on success, else why not (e.g. the port is taken). A second
  /// call while serving returns "" and changes nothing.
  std::string listen();

  /// The bound port (the OS's pick when the port was 0); 0 while not serving.
  std::uint16_t port() const;

  /// Closes the listening socket and waits for running scrapes to finish. Idempotent.
  void stop();

private:
  std::shared_ptr<registry> reg_;
  std::string host_;
  std::uint16_t port_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::uint16_t bound_port_ = 0;
};

} // namespace dutydesk::metrics
