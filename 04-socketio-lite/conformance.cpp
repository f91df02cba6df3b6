#include "conformance.h"

namespace sio {

void install_engine_echo(eio::Server& engine) {
  engine.on_connection = [](std::shared_ptr<eio::Socket> session) {
    eio::Socket* s = session.get();  // the engine owns the session
    s->on_message = [s](std::string_view data, bool binary) {
      binary ? s->send_binary(data) : s->send(data);
    };
  };
}

void install_protocol_echo(Server& io) {
  auto echo_auth = [](const std::shared_ptr<Socket>& socket) {
    socket->emit("auth", Args{socket->auth()});
  };
  io.on_connection([echo_auth](const std::shared_ptr<Socket>& socket) {
    echo_auth(socket);
    Socket* s = socket.get();  // handlers are dropped on disconnect: no cycle
    // Binary arguments pass through as they came: same placeholders, same buffers.
    s->on("message",
          [s](const Args& args, const Ack&) { s->emit("message-back", args); });
    s->on("message-with-ack", [](const Args& args, const Ack& ack) {
      if (ack) ack(args);
    });
  });
  io.of("/custom").on_connection(echo_auth);
}

// args[from...] as an event's arguments, with the same attachments.
static Args rest(const Args& args, size_t from) {
  Args out;
  for (size_t i = from; i < args.size(); ++i)
    out.add(args[i]);
  out.buffers = args.buffers;
  return out;
}

static std::string text(const Args& args, size_t i) {
  return i < args.size() && args[i].is_string() ? args[i].as_string() : "";
}

void install_test_namespace(Server& io) {
  Namespace& test = io.of("/test");
  // A middleware refusal reaches the client as connect_error, with its data.
  test.use([](Socket& socket) -> std::optional<ConnectError> {
    const json::Value* deny = socket.auth().find("deny");
    if (!deny || !deny->is_string()) return std::nullopt;
    return ConnectError{deny->as_string(),
                        json::Value(json::Object{{"code", 4001}, {"by", "middleware"}})};
  });
  test.on_connection([&test](const std::shared_ptr<Socket>& socket) {
    Socket* s = socket.get();
    auto done = [](const Ack& ack) {
      if (ack) ack(Args{true});
    };
    s->on("join", [s, done](const Args& a, const Ack& ack) {
      s->join(text(a, 0));
      done(ack);
    });
    s->on("leave", [s, done](const Args& a, const Ack& ack) {
      s->leave(text(a, 0));
      done(ack);
    });
    s->on("to", [s, done](const Args& a, const Ack& ack) {
      s->to(text(a, 0)).emit(text(a, 1), rest(a, 2));
      done(ack);
    });
    s->on("except", [&test, done](const Args& a, const Ack& ack) {
      test.to(text(a, 0)).except(text(a, 1)).emit(text(a, 2), rest(a, 3));
      done(ack);
    });
    s->on("broadcast", [s, done](const Args& a, const Ack& ack) {
      s->broadcast().emit(text(a, 0), rest(a, 1));
      done(ack);
    });
    s->on("all", [&test, done](const Args& a, const Ack& ack) {
      test.emit(text(a, 0), rest(a, 1));
      done(ack);
    });
    // A server emit that waits for the client's ack, or gives up after a timeout.
    s->on("ask", [s](const Args& a, const Ack& ack) {
      int64_t timeout = a.size() && a[0].is_number() ? (int64_t)a[0].as_number() : 0;
      s->emit(
          "question", rest(a, 1),
          [ack](const std::string& error, const Args& reply) {
            if (!ack) return;
            Args answer;
            answer.add(error.empty() ? json::Value() : json::Value(error));
            for (const auto& v : reply.values)
              answer.add(v);
            answer.buffers = reply.buffers;
            ack(answer);
          },
          timeout);
    });
    s->on("bye", [s](const Args& a, const Ack&) {
      s->disconnect(a.size() && a[0].is_bool() && a[0].as_bool());
    });
  });
}

}  // namespace sio
