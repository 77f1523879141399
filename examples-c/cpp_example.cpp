// The C++ wrapper (apiretry.hpp) end to end against the mock API: a client
// call, a classified failure, the decision API, ownership by RAII (run under
// valgrind: nothing leaks); with PAIR_URL and TOKEN_FILE also pairing, a
// restart from the file store and a refresh. Usage: cpp_example BASE_URL
// [PAIR_URL TOKEN_FILE]
#include <cstdio>
#include <cstring>
#include <string>

#include <stdlib.h>
#include <unistd.h>

#include "apiretry.hpp"

static int failures = 0;
static int codes_shown = 0;

static void on_code(void *, const apiretry_user_code *code) {
  if (std::strncmp(code->user_code, "WDJB-", 5) == 0) codes_shown++;
}

#define EXPECT(cond)                                                   \
  do {                                                                 \
    if (!(cond)) {                                                     \
      std::fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                      \
    }                                                                  \
  } while (0)

// Pairs through the mock at `base` (RFC 8628), then a second client
// starts from the token file, calls the API and refreshes.
static void pairing(const char *base, const char *file) {
  char token_url[512], device_url[512];
  std::snprintf(token_url, sizeof token_url, "%s/v2/auth/token", base);
  std::snprintf(device_url, sizeof device_url, "%s/v2/auth/device/code", base);
  auto oauth = apiretry::OAuth::make(token_url, "camera");
  EXPECT(oauth.ok());
  EXPECT(oauth.value().file_store(file).ok());
  EXPECT(oauth.value().client_auth(APIRETRY_CLIENT_AUTH_PUBLIC, "secret").error().code() ==
         APIRETRY_RESULT_INVALID_ARGUMENT);
  for (int start = 0; start < 2; start++) {
    auto builder = apiretry::ClientBuilder::make(base);
    EXPECT(builder.ok());
    EXPECT(builder.value().header("x-client-version", "2.0.0").ok());
    EXPECT(builder.value().oauth(oauth.value()).ok());
    auto client = builder.value().build();
    EXPECT(client.ok());
    auto needed = client.value().needs_pairing();
    EXPECT(needed.ok() && needed.value() == (start == 0));
    if (start == 0) {
      auto p = apiretry::Pairing::make(device_url);
      EXPECT(p.ok());
      EXPECT(p.value().scope("asset_create offline").ok());
      EXPECT(p.value().limits(0, 60000).ok());
      EXPECT(p.value().callbacks(on_code, nullptr, nullptr).ok());
      EXPECT(client.value().pair(p.value()).ok());
      EXPECT(codes_shown == 1);
    } else {
      EXPECT(client.value().refresh_tokens().ok());
    }
    auto me = apiretry::Request::make("GET", "/v2/me");
    EXPECT(me.ok() && me.value().expect(200).ok());
    EXPECT(client.value().send(me.value()).ok());
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: cpp_example BASE_URL\n");
    return 2;
  }
  EXPECT(apiretry::version() == APIRETRY_VERSION);

  auto c2c = apiretry::Profile::builtin("c2c");
  EXPECT(c2c.ok());
  EXPECT(!apiretry::Profile::builtin("nope").ok());

  EXPECT(apiretry::Profile::builtin(std::string_view("s3")).ok());
  // A string_view longer than the wrapper copies on the stack is refused, not truncated.
  static char long_url[9000];
  std::memset(long_url, 'a', sizeof long_url);
  EXPECT(apiretry::Request::make(std::string_view("GET"), std::string_view(long_url, sizeof long_url))
             .error()
             .code() == APIRETRY_RESULT_INVALID_ARGUMENT);

  auto builder = apiretry::ClientBuilder::make(std::string_view(argv[1]));
  EXPECT(builder.ok());
  EXPECT(builder.value().profile(c2c.value()).ok());
  apiretry_backoff_config fast;
  apiretry_backoff_default(&fast);
  fast.base_ms = 10;
  fast.cap_ms = 50;
  EXPECT(builder.value().policy(3, 0, &fast).ok());
  EXPECT(builder.value().token(std::string_view("cpp-token")).ok());
  EXPECT(builder.value().token("bad\r\ntoken").error().code() == APIRETRY_RESULT_INVALID_ARGUMENT);
  // A congestion control the kernel does not give: refused, the reason said.
  auto cc = builder.value().upload_congestion("no-such-algo");
  EXPECT(!cc.ok() && cc.error().code() == APIRETRY_RESULT_API_FAILURE);
  EXPECT(builder.value().upload_congestion(nullptr).ok());
  EXPECT(builder.value().max_upload_rate(2500000).ok());
  auto client = builder.value().build();
  EXPECT(client.ok());

  // A success: status and body.
  auto ok = apiretry::Request::make("GET", "/ok");
  EXPECT(ok.ok());
  EXPECT(ok.value().header(std::string_view("Accept"), std::string_view("application/json")).ok());
  EXPECT(ok.value().header("X:Y", "v").error().code() == APIRETRY_RESULT_INVALID_ARGUMENT);
  auto resp = client.value().send(ok.value());
  EXPECT(resp.ok() && resp.value().status() == 200);
  EXPECT(resp.ok() && resp.value().body() == "{\"ok\":true}");
  char id[32];
  EXPECT(resp.ok() && resp.value().header("x-request-id", id) == "r-1");
  // The device's link changed (a Wi-Fi or LTE attach): tell the client.
  EXPECT(client.value().network_changed().ok());

  // A file's upload in parts: 2500 bytes, parts of 1000, each to its URL.
  char clip[] = "/tmp/apiretry-cpp-clip-XXXXXX";
  int fd = mkstemp(clip);
  EXPECT(fd >= 0);
  static const char bytes[2500] = {0};
  EXPECT(fd >= 0 && write(fd, bytes, sizeof bytes) == (ssize_t)sizeof bytes);
  if (fd >= 0) close(fd);
  auto upload = apiretry::Upload::make(client.value(), clip, 1000);
  EXPECT(upload.ok());
  // The mock's parts are small: S3's 5 MiB rule off. Frame.io's headers on each.
  EXPECT(upload.value().part_rules(false).ok());
  EXPECT(upload.value().header("Content-Type", "video/quicktime").ok());
  EXPECT(upload.value().header("x-amz-acl", "private").ok());
  EXPECT(apiretry::Upload::part_size_for(1ull << 30) == 8u << 20);
  // Not growing: a finish given anyway changes nothing.
  EXPECT(upload.value().growing(false).ok() && upload.value().finish(2500).ok());
  for (int part = 1; part <= 3; part++) {
    std::string url = std::string(argv[1]) + "/parts/" + std::to_string(part);
    EXPECT(upload.value().add_url(url.c_str()).ok());
  }
  EXPECT(upload.value().run().ok());
  auto etag = upload.value().etag(3);
  EXPECT(etag.ok() && etag.value() == "\"p3\"");
  EXPECT(upload.value().etag(4).error().code() == APIRETRY_RESULT_INVALID_ARGUMENT);
  // The C2C uploader's queue, not started: a missing clip is refused, a
  // queued one cancelled; then every item is over.
  char state[] = "/tmp/apiretry-cpp-c2c-XXXXXX";
  EXPECT(mkdtemp(state) != nullptr);
  {
    auto c2c = apiretry::C2cUploader::make(client.value(), state);
    EXPECT(c2c.ok());
    EXPECT(!c2c.value().add("/nonexistent/A001.mov", "video/quicktime").ok());
    auto id = c2c.value().add(clip, "video/quicktime", 0, APIRETRY_C2C_ADD_FIRST);
    EXPECT(id.ok() && id.value() == 1);
    EXPECT(c2c.value().cancel(0).ok() && c2c.value().wait_idle(0));
  }
  std::remove(clip);

  // A failure: classified, with its message.
  auto paused = apiretry::Request::make(std::string_view("POST"), std::string_view("/paused"));
  EXPECT(paused.ok());
  auto failed = client.value().send(paused.value());
  EXPECT(!failed.ok());
  if (!failed.ok()) {
    const apiretry::Error &e = failed.error();
    char message[256], code[64];
    EXPECT(e.code() == APIRETRY_RESULT_API_FAILURE);
    EXPECT(e.classification().kind() == APIRETRY_KIND_CHANNEL_PAUSED);
    EXPECT(e.classification().kind_name() == "channel_paused");
    EXPECT(e.classification().retry() == APIRETRY_RETRY_NO);
    EXPECT(e.classification().status() == 409);
    EXPECT(e.classification().message(message).find("paused") != std::string_view::npos);
    EXPECT(e.describe(code).size() > 0);
  }

  // The decision API, as a program with its own HTTP stack uses it.
  auto retrier = apiretry::Retrier::make(c2c.value(), 3, 0, &fast);
  EXPECT(retrier.ok());
  auto call = retrier.value().call();
  EXPECT(call.ok());
  auto first = call.value().on_response(503, nullptr, 0, "");
  EXPECT(first.ok() && first.value().retry());
  EXPECT(first.ok() && first.value().failure.kind() == APIRETRY_KIND_UNAVAILABLE);
  auto second = call.value().on_transport_error(APIRETRY_TRANSPORT_CONNECTION_RESET, std::string_view("reset by peer"));
  EXPECT(second.ok() && second.value().retry());
  auto third = call.value().on_response(200, nullptr, 0, "{}");
  EXPECT(third.ok() && third.value().success() && !third.value().failure);
  auto after = call.value().on_response(200, nullptr, 0, "{}");
  EXPECT(!after.ok() && after.error().code() == APIRETRY_RESULT_INVALID_ARGUMENT);

  // Classifying a response the program got itself.
  apiretry_header wait = {"Retry-After", "3"};
  auto limited = c2c.value().classify(429, &wait, 1, "");
  EXPECT(limited.ok() && limited.value().kind() == APIRETRY_KIND_RATE_LIMITED);

  // Its rate learned from the answers its own stack got (times in ms).
  auto learner = apiretry::RateLearner::make();
  EXPECT(learner.ok());
  EXPECT(!learner.value().rate().ok());  // not throttled yet: unpaced
  for (std::uint64_t t = 0; t < 1000; t += 100) EXPECT(learner.value().on_answer(t, t + 20, false).ok());
  auto cut = learner.value().on_answer(1000, 1020, true);
  EXPECT(cut.ok() && cut.value() > 0 && cut.value() < 10);
  EXPECT(learner.value().on_retry_after(1020, 1000).ok());
  EXPECT(learner.value().rate().ok() && learner.value().rate().value() == cut.value());
  EXPECT(apiretry::RateLearner::make(-1).error().code() == APIRETRY_RESULT_INVALID_ARGUMENT);

  if (argc > 3) {
    pairing(argv[2], argv[3]);
  } else {
    std::printf("cpp_example: pairing skipped (no PAIR_URL TOKEN_FILE)\n");
  }
  std::printf("cpp_example: %s\n", failures == 0 ? "all passed" : "FAILED");
  return failures == 0 ? 0 : 1;
}
