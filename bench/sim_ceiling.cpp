// Measures dutydesk-sim's ceiling on loopback: REST calls/s on keep-alive connections, and websocket frames/s
// delivered to DDP subscribers while posters write. Synchronous Beast, one thread per connection.
//
//   sim_ceiling rest  HOST PORT THREADS SECONDS METHOD PATH [BODY]    (headers: the seed's bot credentials)
//   sim_ceiling ws    HOST PORT SUBSCRIBERS POSTERS SECONDS ROOM_ID

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast.hpp>

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

const char* bot_id = "B0tB0tB0tB0tB0tB0";
const char* bot_token = "dutydesk-pat-0000000000000000000000000000";

struct counters {
  std::atomic<uint64_t> ok{0}, errors{0};
};

void rest_worker(const std::string& host, const std::string& port, http::verb method, const std::string& path,
                 const std::string& body, steady::time_point until, counters& c) {
  try {
    net::io_context ioc;
    tcp::resolver resolver{ioc};
    beast::tcp_stream stream{ioc};
    stream.connect(resolver.resolve(host, port));
    stream.socket().set_option(tcp::no_delay(true));
    beast::flat_buffer buffer;
    while (steady::now() < until) {
      http::request<http::string_body> req{method, path, 11};
      req.set(http::field::host, host);
      req.set("X-User-Id", bot_id);
      req.set("X-Auth-Token", bot_token);
      req.set("Authorization", "Bearer jira-bot-token-0000000000000000");
      if (!body.empty()) {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
      }
      req.prepare_payload();
      http::write(stream, req);
      http::response<http::string_body> res;
      http::read(stream, buffer, res);
      (res.result_int() < 400 ? c.ok : c.errors)++;
    }
  } catch (const std::exception& e) {
    std::cerr << "rest worker: " << e.what() << "\n";
    c.errors++;
  }
}

struct ddp_client {
  net::io_context ioc;
  websocket::stream<tcp::socket> ws{ioc};
  beast::flat_buffer buffer;

  void open(const std::string& host, const std::string& port) {
    tcp::resolver resolver{ioc};
    net::connect(ws.next_layer(), resolver.resolve(host, port));
    ws.next_layer().set_option(tcp::no_delay(true));
    ws.handshake(host, "/websocket");
    read();  // greeting
    send(R"({"msg":"connect","version":"1","support":["1"]})");
    read_until("connected");
    send(std::string{R"({"msg":"method","id":"1","method":"login","params":[{"resume":")"} + bot_token + R"("}]})");
    read_until("\"result\"");
  }
  void send(const std::string& s) { ws.write(net::buffer(s)); }
  std::string read() {
    buffer.consume(buffer.size());
    ws.read(buffer);
    return beast::buffers_to_string(buffer.data());
  }
  void read_until(const std::string& needle) {
    for (;;) {
      auto f = read();
      if (f.find(needle) != std::string::npos)
        return;
      if (f.find("\"ping\"") != std::string::npos)
        send(R"({"msg":"pong"})");
    }
  }
};

int run_rest(int argc, char** argv) {
  if (argc < 8)
    return 2;
  std::string host = argv[2], port = argv[3], method = argv[6], path = argv[7], body = argc > 8 ? argv[8] : "";
  int threads = std::stoi(argv[4]);
  double seconds = std::stod(argv[5]);
  auto verb = http::string_to_verb(method);
  counters c;
  auto start = steady::now();
  auto until = start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> ts;
  for (int i = 0; i < threads; ++i)
    ts.emplace_back(rest_worker, host, port, verb, path, body, until, std::ref(c));
  for (auto& t : ts)
    t.join();
  double elapsed = std::chrono::duration<double>(steady::now() - start).count();
  std::printf("rest %s %s threads=%d seconds=%.2f ok=%llu errors=%llu calls_per_s=%.0f\n", method.c_str(),
              path.c_str(), threads, elapsed, static_cast<unsigned long long>(c.ok.load()),
              static_cast<unsigned long long>(c.errors.load()), c.ok.load() / elapsed);
  return c.errors.load() == 0 ? 0 : 1;
}

int run_ws(int argc, char** argv) {
  if (argc < 8)
    return 2;
  std::string host = argv[2], port = argv[3], room = argv[7];
  int subscribers = std::stoi(argv[4]), posters = std::stoi(argv[5]);
  double seconds = std::stod(argv[6]);
  std::atomic<uint64_t> frames{0};
  std::atomic<bool> stop{false};
  std::atomic<int> ready{0};
  std::vector<std::thread> subs;
  for (int i = 0; i < subscribers; ++i) {
    subs.emplace_back([&, i] {
      try {
        ddp_client c;
        c.open(host, port);
        c.send(R"({"msg":"sub","id":"s)" + std::to_string(i) + R"(","name":"stream-room-messages","params":[")" + room +
               R"(",false]})");
        c.read_until("\"ready\"");
        ready++;
        while (!stop.load()) {
          auto f = c.read();
          if (f.find("\"changed\"") != std::string::npos)
            frames++;
          else if (f.find("\"ping\"") != std::string::npos)
            c.send(R"({"msg":"pong"})");
        }
      } catch (const std::exception&) {
        // The socket is closed under the reader when the run ends.
      }
    });
  }
  while (ready.load() < subscribers)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  counters c;
  auto start = steady::now();
  auto until = start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(seconds));
  std::string body = R"({"roomId":")" + room + R"(","text":"load"})";
  std::vector<std::thread> ps;
  for (int i = 0; i < posters; ++i)
    ps.emplace_back(rest_worker, host, port, http::verb::post, "/api/v1/chat.postMessage", body, until, std::ref(c));
  for (auto& t : ps)
    t.join();
  double elapsed = std::chrono::duration<double>(steady::now() - start).count();
  auto expected = c.ok.load() * static_cast<uint64_t>(subscribers);
  auto drain_until = steady::now() + std::chrono::seconds(5);
  while (frames.load() < expected && steady::now() < drain_until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  double delivered_in = std::chrono::duration<double>(steady::now() - start).count();
  stop = true;
  std::printf("ws subscribers=%d posters=%d seconds=%.2f posts=%llu post_errors=%llu frames=%llu expected=%llu "
              "frames_per_s=%.0f posts_per_s=%.0f\n",
              subscribers, posters, elapsed, static_cast<unsigned long long>(c.ok.load()),
              static_cast<unsigned long long>(c.errors.load()), static_cast<unsigned long long>(frames.load()),
              static_cast<unsigned long long>(expected), frames.load() / delivered_in, c.ok.load() / elapsed);
  std::fflush(stdout);
  std::_Exit(frames.load() >= expected && c.errors.load() == 0 ? 0 : 1);
}

} // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string{argv[1]} == "rest")
    return run_rest(argc, argv);
  if (argc > 1 && std::string{argv[1]} == "ws")
    return run_ws(argc, argv);
  std::cerr << "usage: sim_ceiling rest HOST PORT THREADS SECONDS METHOD PATH [BODY]\n"
               "       sim_ceiling ws HOST PORT SUBSCRIBERS POSTERS SECONDS ROOM_ID\n";
  return 2;
}
