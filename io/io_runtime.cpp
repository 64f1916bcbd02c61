#include "io/io_runtime.hpp"

#include <future>
#include <optional>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace dutydesk::io {

namespace net = boost::asio;

struct io_runtime::impl {
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> guard;
  std::unique_ptr<http_client> http;
  std::thread thread;
};

io_runtime::io_runtime(http_client_options options) : impl_(std::make_unique<impl>()) {
  impl_->http = std::make_unique<http_client>(impl_->ioc, std::move(options));
}

io_runtime::~io_runtime() {
  stop();
  impl_->http.reset();
}

void io_runtime::start() {
  if (impl_->thread.joinable())
    return;
  impl_->guard.emplace(impl_->ioc.get_executor());
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

void io_runtime::stop() {
  if (!impl_->thread.joinable())
    return;
  // Idle keep-alive connections would keep the context busy; close them on the I/O thread first.
  net::post(impl_->ioc, [this] { impl_->http->close_idle(); });
  impl_->guard.reset();
  impl_->ioc.stop();
  impl_->thread.join();
}

void io_runtime::post(std::function<void()> fn) {
  net::post(impl_->ioc, std::move(fn));
}

void io_runtime::run_sync(const std::function<void()>& fn) {
  // Without the thread nothing would run the handler (e.g. a gateway stopped after the runtime): with no I/O
  // thread there is nobody to race with, so run it here.
  if (!impl_->thread.joinable() || impl_->thread.get_id() == std::this_thread::get_id())
    return fn();
  std::promise<void> done;
  net::post(impl_->ioc, [&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

net::io_context& io_runtime::context() {
  return impl_->ioc;
}

http_client& io_runtime::http() {
  return *impl_->http;
}

} // namespace dutydesk::io
