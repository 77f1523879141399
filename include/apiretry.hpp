// apiretry for C++17: RAII owners over the C API in apiretry.h, header only.
//
// Errors are values, not exceptions: every fallible call returns a
// `Result<T>` (an `expected`-like type: `ok()`, `value()`, `error()`), so the
// wrapper works in firmware built with -fno-exceptions, and a failed API call
// (which is normal: the network fails) is not a thrown exception. An `Error`
// carries the C result code and, for `APIRETRY_RESULT_API_FAILURE`, the
// owned classification.
//
// No allocation beyond the C API's own: owners hold one pointer each; text
// comes out as `std::string_view` into a buffer the caller gives; a
// `std::string_view` argument is copied into a stack buffer (up to
// `kMaxInlineString` bytes, longer ones are `APIRETRY_RESULT_INVALID_ARGUMENT`;
// pass a `const char *` to hand a NUL-terminated string over without a copy).
#ifndef APIRETRY_HPP
#define APIRETRY_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "apiretry.h"

namespace apiretry {

// The longest std::string_view argument copied on the stack (presigned
// URLs with a session token run to about 3 KB).
inline constexpr std::size_t kMaxInlineString = 8191;

namespace detail {

// A NUL-terminated copy of a string_view, on the stack.
class ZString {
 public:
  explicit ZString(std::string_view s) : ok_(s.size() <= kMaxInlineString) {
    if (ok_) {
      std::memcpy(buf_, s.data(), s.size());
      buf_[s.size()] = '\0';
    } else {
      buf_[0] = '\0';
    }
  }
  bool ok() const { return ok_; }
  const char *c_str() const { return buf_; }

 private:
  bool ok_;
  char buf_[kMaxInlineString + 1];
};

// Owns a C object and calls its _free.
template <typename T, void (*Free)(T *)>
class Owner {
 public:
  Owner() = default;
  explicit Owner(T *p) : p_(p) {}
  Owner(const Owner &) = delete;
  Owner &operator=(const Owner &) = delete;
  Owner(Owner &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  Owner &operator=(Owner &&o) noexcept {
    if (this != &o) {
      reset();
      p_ = std::exchange(o.p_, nullptr);
    }
    return *this;
  }
  ~Owner() { reset(); }
  T *get() const { return p_; }
  explicit operator bool() const { return p_ != nullptr; }
  // Gives up ownership (for a C function that consumes the object).
  T *release() { return std::exchange(p_, nullptr); }
  void reset() {
    if (p_ != nullptr) Free(std::exchange(p_, nullptr));
  }

 private:
  T *p_ = nullptr;
};

}  // namespace detail

// A classified failure (kind, retry class, status, message, ...).
class Classification {
 public:
  Classification() = default;
  explicit Classification(apiretry_classification *c) : c_(c) {}
  const apiretry_classification *get() const { return c_.get(); }
  explicit operator bool() const { return static_cast<bool>(c_); }

  apiretry_kind kind() const {
    apiretry_kind k{};
    apiretry_classification_kind(c_.get(), &k);
    return k;
  }
  apiretry_retry retry() const {
    apiretry_retry r{};
    apiretry_classification_retry(c_.get(), &r);
    return r;
  }
  std::int32_t status() const {
    std::int32_t s = -1;
    apiretry_classification_status(c_.get(), &s);
    return s;
  }
  // The kind's taxonomy name, e.g. "channel_paused" (static storage).
  std::string_view kind_name() const {
    const char *n = apiretry_kind_name(kind());
    return n != nullptr ? std::string_view(n) : std::string_view();
  }
  // The message, written into `buf`; empty when absent or too long.
  template <std::size_t N>
  std::string_view message(char (&buf)[N]) const {
    return text(apiretry_classification_message, buf, N);
  }
  template <std::size_t N>
  std::string_view hint(char (&buf)[N]) const {
    return text(apiretry_classification_hint, buf, N);
  }
  template <std::size_t N>
  std::string_view code(char (&buf)[N]) const {
    return text(apiretry_classification_code, buf, N);
  }

 private:
  using TextFn = apiretry_result (*)(const apiretry_classification *, char *, std::size_t,
                                     std::size_t *);
  std::string_view text(TextFn f, char *buf, std::size_t len) const {
    std::size_t n = 0;
    if (f(c_.get(), buf, len, &n) != APIRETRY_RESULT_OK) return {};
    return std::string_view(buf, n);
  }
  detail::Owner<apiretry_classification, apiretry_classification_free> c_;
};

// Why a call failed: the C result code, and for APIRETRY_RESULT_API_FAILURE
// the classification.
class Error {
 public:
  explicit Error(apiretry_result code, Classification c = Classification())
      : code_(code), classification_(std::move(c)) {}
  apiretry_result code() const { return code_; }
  const Classification &classification() const { return classification_; }
  // A one-line description of the result code (static storage).
  template <std::size_t N>
  std::string_view describe(char (&buf)[N]) const {
    std::size_t n = 0;
    if (apiretry_result_message(code_, buf, N, &n) != APIRETRY_RESULT_OK) return {};
    return std::string_view(buf, n);
  }

 private:
  apiretry_result code_;
  Classification classification_;
};

// A value or an Error (std::expected is C++23).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : ok_(true) { new (&storage_) T(std::move(value)); }
  Result(Error error) : ok_(false) { new (&storage_) Error(std::move(error)); }
  Result(const Result &) = delete;
  Result &operator=(const Result &) = delete;
  Result(Result &&o) noexcept : ok_(o.ok_) {
    if (ok_)
      new (&storage_) T(std::move(o.value()));
    else
      new (&storage_) Error(std::move(o.error()));
  }
  Result &operator=(Result &&) = delete;
  ~Result() {
    if (ok_)
      value().~T();
    else
      error().~Error();
  }
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  // Only when ok().
  T &value() { return *std::launder(reinterpret_cast<T *>(&storage_)); }
  const T &value() const { return *std::launder(reinterpret_cast<const T *>(&storage_)); }
  // Only when !ok().
  Error &error() { return *std::launder(reinterpret_cast<Error *>(&storage_)); }
  const Error &error() const { return *std::launder(reinterpret_cast<const Error *>(&storage_)); }

 private:
  bool ok_;
  std::aligned_union_t<0, T, Error> storage_;
};

// Success without a value, or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() : error_(APIRETRY_RESULT_OK) {}
  Result(Error error) : error_(std::move(error)) {}
  bool ok() const { return error_.code() == APIRETRY_RESULT_OK; }
  explicit operator bool() const { return ok(); }
  const Error &error() const { return error_; }

 private:
  Error error_;
};

using Status = Result<void>;

namespace detail {
inline Status check(apiretry_result r) {
  if (r == APIRETRY_RESULT_OK) return Status();
  return Error(r);
}

// Calls `f` with a NUL-terminated copy of `s`, or fails as the C API would
// for an argument it cannot take.
template <typename F>
auto with_z(std::string_view s, F f) -> decltype(f("")) {
  ZString z(s);
  if (!z.ok()) return Error(APIRETRY_RESULT_INVALID_ARGUMENT);
  return f(z.c_str());
}
}  // namespace detail

// The library's version ("0.1.0"); APIRETRY_VERSION is the header's.
inline std::string_view version() { return apiretry_version(); }

// A classification profile (built in, or from JSON).
class Profile {
 public:
  static Result<Profile> builtin(const char *name) {
    apiretry_profile *p = nullptr;
    apiretry_result r = apiretry_profile_builtin(name, &p);
    if (r != APIRETRY_RESULT_OK) return Error(r);
    return Profile(p);
  }
  static Result<Profile> builtin(std::string_view name) {
    return detail::with_z(name, [](const char *z) { return builtin(z); });
  }
  static Result<Profile> from_json(const char *json) {
    apiretry_profile *p = nullptr;
    apiretry_classification *err = nullptr;
    apiretry_result r = apiretry_profile_from_json(json, &p, &err);
    if (r != APIRETRY_RESULT_OK) return Error(r, Classification(err));
    return Profile(p);
  }
  const apiretry_profile *get() const { return p_.get(); }

  // Classifies a response C++ received itself; an empty Classification
  // means no failure.
  Result<Classification> classify(std::uint16_t status, const apiretry_header *headers,
                                  std::size_t n_headers, std::string_view body,
                                  std::int32_t expected = -1) const {
    apiretry_classification *c = nullptr;
    apiretry_result r =
        apiretry_classify(p_.get(), status, headers, n_headers,
                          reinterpret_cast<const std::uint8_t *>(body.data()), body.size(), expected, &c);
    if (r != APIRETRY_RESULT_OK) return Error(r);
    return Classification(c);
  }

 private:
  explicit Profile(apiretry_profile *p) : p_(p) {}
  detail::Owner<apiretry_profile, apiretry_profile_free> p_;
};

// Stops a call from any thread.
class Cancel {
 public:
  static Result<Cancel> make() {
    apiretry_cancel *c = nullptr;
    apiretry_result r = apiretry_cancel_new(&c);
    if (r != APIRETRY_RESULT_OK) return Error(r);
    return Cancel(c);
  }
  Status cancel() const { return detail::check(apiretry_cancel_cancel(c_.get())); }
  const apiretry_cancel *get() const { return c_.get(); }

 private:
  explicit Cancel(apiretry_cancel *c) : c_(c) {}
  detail::Owner<apiretry_cancel, apiretry_cancel_free> c_;
};

// A request; the setters return Status (INVALID_ARGUMENT at the call that is wrong).
class Request {
 public:
  static Result<Request> make(const char *method, const char *url) {
    apiretry_request *r = nullptr;
    apiretry_result res = apiretry_request_new(method, url, &r);
    if (res != APIRETRY_RESULT_OK) return Error(res);
    return Request(r);
  }
  static Result<Request> make(std::string_view method, std::string_view url) {
    detail::ZString m(method), u(url);
    if (!m.ok() || !u.ok()) return Error(APIRETRY_RESULT_INVALID_ARGUMENT);
    return make(m.c_str(), u.c_str());
  }
  Status header(std::string_view name, std::string_view value) {
    detail::ZString n(name), v(value);
    if (!n.ok() || !v.ok()) return Error(APIRETRY_RESULT_INVALID_ARGUMENT);
    return detail::check(apiretry_request_add_header(r_.get(), n.c_str(), v.c_str()));
  }
  // Copied; sent again on each attempt.
  Status body(std::string_view bytes) {
    return detail::check(apiretry_request_set_body(
        r_.get(), reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size()));
  }
  // A range of a file, read again for each attempt.
  Status body_file(const char *path, std::uint64_t offset, std::uint64_t length) {
    return detail::check(apiretry_request_set_body_file(r_.get(), path, offset, length));
  }
  Status body_file(std::string_view path, std::uint64_t offset, std::uint64_t length) {
    return detail::with_z(path, [&](const char *z) { return body_file(z, offset, length); });
  }
  Status expect(std::uint16_t status) {
    return detail::check(apiretry_request_set_expect(r_.get(), status));
  }
  Status request_class(apiretry_request_class c) {
    return detail::check(apiretry_request_set_class(r_.get(), c));
  }
  Status profile(const Profile &p) {
    return detail::check(apiretry_request_set_profile(r_.get(), p.get()));
  }
  Status unauthorized(bool own_connection = false) {
    return detail::check(apiretry_request_set_unauthorized(r_.get(), own_connection));
  }
  // Fails at once (held_back) instead of waiting while the origin is held for overload.
  Status without_waiting() {
    return detail::check(apiretry_request_set_without_waiting(r_.get()));
  }
  Status policy(std::uint32_t max_attempts, std::uint64_t deadline_ms = 0,
                const apiretry_backoff_config *backoff = nullptr) {
    return detail::check(apiretry_request_set_policy(r_.get(), max_attempts, deadline_ms, backoff));
  }
  Status retry(apiretry_kind kind, apiretry_retry retry) {
    return detail::check(apiretry_request_set_retry(r_.get(), kind, retry));
  }
  // How far each attempt's transfer has come, on the sending thread, at most
  // every 100 ms and at each direction's end; `user_data` must outlive the
  // sends (a C callback: no allocation, no exceptions across it).
  Status progress(apiretry_progress_callback callback, void *user_data) {
    return detail::check(apiretry_request_set_progress_callback(r_.get(), callback, user_data));
  }
  apiretry_request *get() const { return r_.get(); }

 private:
  explicit Request(apiretry_request *r) : r_(r) {}
  detail::Owner<apiretry_request, apiretry_request_free> r_;
};

// A successful response; owns its body.
class Response {
 public:
  explicit Response(apiretry_response *r) : r_(r) {}
  std::uint16_t status() const {
    std::uint16_t s = 0;
    apiretry_response_status(r_.get(), &s);
    return s;
  }
  // Valid while this Response lives.
  std::string_view body() const {
    const std::uint8_t *b = nullptr;
    std::size_t n = 0;
    if (apiretry_response_body(r_.get(), &b, &n) != APIRETRY_RESULT_OK || n == 0) return {};
    return std::string_view(reinterpret_cast<const char *>(b), n);
  }
  // Header `name`, written into `buf`; empty when absent or too long.
  template <std::size_t N>
  std::string_view header(const char *name, char (&buf)[N]) const {
    std::size_t n = 0;
    if (apiretry_response_header(r_.get(), name, buf, N, &n) != APIRETRY_RESULT_OK) return {};
    return std::string_view(buf, n);
  }

 private:
  detail::Owner<apiretry_response, apiretry_response_free> r_;
};

class ClientBuilder;

// A client's OAuth: token endpoint, client identity, token store.
class OAuth {
 public:
  static Result<OAuth> make(const char *token_url, const char *client_id) {
    apiretry_oauth *o = nullptr;
    apiretry_result r = apiretry_oauth_new(token_url, client_id, &o);
    if (r != APIRETRY_RESULT_OK) return Error(r);
    return OAuth(o);
  }
  // APIRETRY_CLIENT_AUTH_FORM or _BASIC with a secret; _PUBLIC with nullptr.
  Status client_auth(apiretry_client_auth auth, const char *secret) {
    return detail::check(apiretry_oauth_set_client_auth(o_.get(), auth, secret));
  }
  Status file_store(const char *path) { return detail::check(apiretry_oauth_set_file_store(o_.get(), path)); }
  Status store_callbacks(apiretry_token_load_callback load, apiretry_token_save_callback save, void *user_data) {
    return detail::check(apiretry_oauth_set_store_callbacks(o_.get(), load, save, user_data));
  }
  const apiretry_oauth *get() const { return o_.get(); }

 private:
  explicit OAuth(apiretry_oauth *o) : o_(o) {}
  detail::Owner<apiretry_oauth, apiretry_oauth_free> o_;
};

// How to pair a device (RFC 8628); run by Client::pair.
class Pairing {
 public:
  static Result<Pairing> make(const char *device_url) {
    apiretry_pairing *p = nullptr;
    apiretry_result r = apiretry_pairing_new(device_url, &p);
    if (r != APIRETRY_RESULT_OK) return Error(r);
    return Pairing(p);
  }
  Status scope(const char *scope) { return detail::check(apiretry_pairing_set_scope(p_.get(), scope)); }
  // New codes when one expires, and a deadline (0: none).
  Status limits(std::uint32_t renewals, std::uint64_t deadline_ms = 0) {
    return detail::check(apiretry_pairing_set_limits(p_.get(), renewals, deadline_ms));
  }
  Status callbacks(apiretry_code_callback on_code, apiretry_poll_callback on_poll, void *user_data) {
    return detail::check(apiretry_pairing_set_callbacks(p_.get(), on_code, on_poll, user_data));
  }
  const apiretry_pairing *get() const { return p_.get(); }

 private:
  explicit Pairing(apiretry_pairing *p) : p_(p) {}
  detail::Owner<apiretry_pairing, apiretry_pairing_free> p_;
};

// A thread-safe client; share one.
class Client {
 public:
  Result<Response> send(const Request &request, const Cancel *cancel = nullptr) const {
    apiretry_response *resp = nullptr;
    apiretry_classification *err = nullptr;
    apiretry_result r = apiretry_client_send(c_.get(), request.get(),
                                             cancel != nullptr ? cancel->get() : nullptr, &resp, &err);
    if (r != APIRETRY_RESULT_OK) return Error(r, Classification(err));
    return Response(resp);
  }
  Status set_token(const char *token) const {
    return detail::check(apiretry_client_set_token(c_.get(), token));
  }
  Status set_token(std::string_view token) const {
    return detail::with_z(token, [&](const char *z) { return set_token(z); });
  }
  // The device's link changed: pooled connections go, held origins are probed now.
  Status network_changed() const {
    return detail::check(apiretry_client_network_changed(c_.get()));
  }
  // Pairs by the client's OAuth; blocks until paired, denied, expired or cancelled.
  Status pair(const Pairing &pairing, const Cancel *cancel = nullptr) const {
    apiretry_classification *err = nullptr;
    apiretry_result r =
        apiretry_client_pair(c_.get(), pairing.get(), cancel != nullptr ? cancel->get() : nullptr, &err);
    if (r != APIRETRY_RESULT_OK) return Error(r, Classification(err));
    return Status();
  }
  Status refresh_tokens(const Cancel *cancel = nullptr) const {
    apiretry_classification *err = nullptr;
    apiretry_result r =
        apiretry_client_refresh_tokens(c_.get(), cancel != nullptr ? cancel->get() : nullptr, &err);
    if (r != APIRETRY_RESULT_OK) return Error(r, Classification(err));
    return Status();
  }
  Result<bool> needs_pairing() const {
    bool needed = false;
    apiretry_result r = apiretry_client_needs_pairing(c_.get(), &needed);
    if (r != APIRETRY_RESULT_OK) return Error(r);
    return needed;
  }

  const apiretry_client *get() const { return c_.get(); }

 private:
  friend class ClientBuilder;
  explicit Client(apiretry_client *c) : c_(c) {}
  detail::Owner<apiretry_client, apiretry_client_free> c_;
};

// Configures a Client; `build()` consumes it.
class ClientBuilder {
 public:
  static Result<ClientBuilder> make(const char *base_url) {
    apiretry_client_builder *b = nullptr;
    apiretry_result r = apiretry_client_builder_new(base_url, &b);
    if (r != APIRETRY_RESULT_OK) return Error(r);
    return ClientBuilder(b);
  }
  static Result<ClientBuilder> make(std::string_view base_url) {
    return detail::with_z(base_url, [](const char *z) { return make(z); });
  }
  Status profile(const Profile &p) {
    return detail::check(apiretry_client_builder_set_profile(b_.get(), p.get()));
  }
  Status policy(std::uint32_t max_attempts, std::uint64_t deadline_ms = 0,
                const apiretry_backoff_config *backoff = nullptr) {
    return detail::check(apiretry_client_builder_set_policy(b_.get(), max_attempts, deadline_ms, backoff));
  }
  Status budget(double max_tokens, double token_ratio) {
    return detail::check(apiretry_client_builder_set_budget(b_.get(), max_tokens, token_ratio));
  }
  Status token(const char *token) {
    return detail::check(apiretry_client_builder_set_token(b_.get(), token));
  }
  Status token(std::string_view token) {
    return detail::with_z(token, [&](const char *z) { return this->token(z); });
  }
  Status rate_limit(std::uint32_t max_requests, std::uint64_t per_ms) {
    return detail::check(apiretry_client_builder_set_rate_limit(b_.get(), max_requests, per_ms));
  }
  // Upload parts' TCP congestion control ("bbr" unless set; nullptr: the
  // system's); a name the kernel refuses is an Error saying why.
  Status upload_congestion(const char *name) {
    apiretry_classification *err = nullptr;
    apiretry_result r = apiretry_client_builder_set_upload_congestion(b_.get(), name, &err);
    if (r != APIRETRY_RESULT_OK) return Error(r, Classification(err));
    return {};
  }
  // The bytes the client sends per second, every connection together; 0: no cap.
  Status max_upload_rate(std::uint64_t bytes_per_sec) {
    return detail::check(apiretry_client_builder_set_max_upload_rate(b_.get(), bytes_per_sec));
  }
  Status ca_file(const char *path) {
    return detail::check(apiretry_client_builder_add_ca_file(b_.get(), path));
  }
  Status ca_file(std::string_view path) {
    return detail::with_z(path, [&](const char *z) { return ca_file(z); });
  }
  // PEM bytes, copied by the library.
  Status ca_pem(std::string_view pem) {
    return detail::check(apiretry_client_builder_add_ca_pem(
        b_.get(), reinterpret_cast<const std::uint8_t *>(pem.data()), pem.size()));
  }
  Status proxy(const char *url) { return detail::check(apiretry_client_builder_set_proxy(b_.get(), url)); }
  // Sent on every request (pairing and refresh included), e.g. x-client-version.
  Status header(const char *name, const char *value) {
    return detail::check(apiretry_client_builder_add_header(b_.get(), name, value));
  }
  // Authorizes by OAuth (a copy): stored tokens loaded, refreshed by the client.
  Status oauth(const OAuth &o) { return detail::check(apiretry_client_builder_set_oauth(b_.get(), o.get())); }
  Status proxy(std::string_view url) {
    return detail::with_z(url, [&](const char *z) { return proxy(z); });
  }
  // For what this wrapper does not cover; the builder stays owned here.
  apiretry_client_builder *get() const { return b_.get(); }
  Result<Client> build() {
    apiretry_client *c = nullptr;
    apiretry_result r = apiretry_client_builder_build(b_.release(), &c);
    if (r != APIRETRY_RESULT_OK) return Error(r);
    return Client(c);
  }

 private:
  explicit ClientBuilder(apiretry_client_builder *b) : b_(b) {}
  detail::Owner<apiretry_client_builder, apiretry_client_builder_free> b_;
};

// The decision after an attempt, and the classification when it failed.
struct Decision {
  apiretry_decision decision;
  Classification failure;
  bool retry() const { return decision.action == APIRETRY_ACTION_RETRY; }
  bool success() const { return decision.action == APIRETRY_ACTION_SUCCESS; }
};

// One logical call made with the program's own HTTP stack (libcurl, ...).
class Call {
 public:
  Result<Decision> on_response(std::uint16_t status, const apiretry_header *headers, std::size_t n_headers,
                               std::string_view body, std::int32_t expected = -1) {
    Decision d{};
    apiretry_classification *c = nullptr;
    apiretry_result r = apiretry_call_on_response(c_.get(), status, headers, n_headers,
                                                  reinterpret_cast<const std::uint8_t *>(body.data()),
                                                  body.size(), expected, &d.decision, &c);
    if (r != APIRETRY_RESULT_OK) return Error(r);
    d.failure = Classification(c);
    return d;
  }
  Result<Decision> on_transport_error(apiretry_transport transport, std::string_view message) {
    return detail::with_z(message, [&](const char *z) { return on_transport_error(transport, z); });
  }
  Result<Decision> on_transport_error(apiretry_transport transport, const char *message) {
    Decision d{};
    apiretry_classification *c = nullptr;
    apiretry_result r = apiretry_call_on_transport_error(c_.get(), transport, message, &d.decision, &c);
    if (r != APIRETRY_RESULT_OK) return Error(r);
    d.failure = Classification(c);
    return d;
  }

 private:
  friend class Retrier;
  explicit Call(apiretry_call *c) : c_(c) {}
  detail::Owner<apiretry_call, apiretry_call_free> c_;
};

// The retry engine for the program's own HTTP stack: profile, policy, budget.
class Retrier {
 public:
  static Result<Retrier> make(const Profile &profile, std::uint32_t max_attempts, std::uint64_t deadline_ms = 0,
                              const apiretry_backoff_config *backoff = nullptr) {
    apiretry_retrier *r = nullptr;
    apiretry_result res = apiretry_retrier_new(profile.get(), max_attempts, deadline_ms, backoff, &r);
    if (res != APIRETRY_RESULT_OK) return Error(res);
    return Retrier(r);
  }
  Status budget(double max_tokens, double token_ratio) {
    return detail::check(apiretry_retrier_set_budget(r_.get(), max_tokens, token_ratio));
  }
  Result<Call> call(const Cancel *cancel = nullptr) const {
    apiretry_call *c = nullptr;
    apiretry_result res = apiretry_call_new(r_.get(), cancel != nullptr ? cancel->get() : nullptr, &c);
    if (res != APIRETRY_RESULT_OK) return Error(res);
    return Call(c);
  }

 private:
  explicit Retrier(apiretry_retrier *r) : r_(r) {}
  detail::Owner<apiretry_retrier, apiretry_retrier_free> r_;
};

// The rate one origin allows, learned from its throttling answers, for the
// program's own HTTP stack; thread-safe. Times are milliseconds of a
// monotonic clock.
class RateLearner {
 public:
  // floor_per_s 0: the default (0.5 a second); ceiling_per_s 0: none.
  static Result<RateLearner> make(double floor_per_s = 0, double ceiling_per_s = 0) {
    apiretry_rate_learner *l = nullptr;
    apiretry_result r = apiretry_rate_learner_new(floor_per_s, ceiling_per_s, &l);
    if (r != APIRETRY_RESULT_OK) return Error(r);
    return RateLearner(l);
  }
  // The new rate when this answer cut it, else 0.
  Result<double> on_answer(std::uint64_t sent_ms, std::uint64_t at_ms, bool throttled) const {
    double cut = 0;
    apiretry_result r = apiretry_rate_learner_on_answer(l_.get(), sent_ms, at_ms, throttled, &cut);
    if (r != APIRETRY_RESULT_OK) return Error(r);
    return cut;
  }
  Status on_retry_after(std::uint64_t at_ms, std::uint64_t wait_ms) const {
    return detail::check(apiretry_rate_learner_on_retry_after(l_.get(), at_ms, wait_ms));
  }
  // ABSENT until a throttle: send unpaced until then.
  Result<double> rate() const {
    double rate = 0;
    apiretry_result r = apiretry_rate_learner_rate(l_.get(), &rate);
    if (r != APIRETRY_RESULT_OK) return Error(r);
    return rate;
  }

 private:
  explicit RateLearner(apiretry_rate_learner *l) : l_(l) {}
  detail::Owner<apiretry_rate_learner, apiretry_rate_learner_free> l_;
};

// A file's upload in parts, several in flight, resumable through its
// journal (apiretry_upload_*). One thread runs it at a time.
class Upload {
 public:
  static Result<Upload> make(const Client &client, const char *path, std::uint64_t part_size) {
    apiretry_upload *u = nullptr;
    apiretry_result r = apiretry_upload_new(client.get(), path, part_size, &u);
    if (r != APIRETRY_RESULT_OK) return Error(r);
    return Upload(u);
  }
  Status add_url(const char *url) { return detail::check(apiretry_upload_add_url(u_.get(), url)); }
  Status url_callback(apiretry_upload_url_callback callback, void *user_data) {
    return detail::check(apiretry_upload_set_url_callback(u_.get(), callback, user_data));
  }
  Status journal(const char *path) { return detail::check(apiretry_upload_set_journal(u_.get(), path)); }
  Status parallel(std::uint32_t parts) { return detail::check(apiretry_upload_set_parallel(u_.get(), parts)); }
  Status progress(apiretry_upload_progress_callback callback, void *user_data) {
    return detail::check(apiretry_upload_set_progress_callback(u_.get(), callback, user_data));
  }
  // Sent with every part (Frame.io: Content-Type and x-amz-acl: private).
  Status header(const char *name, const char *value) {
    return detail::check(apiretry_upload_add_header(u_.get(), name, value));
  }
  Status destination(const char *id) { return detail::check(apiretry_upload_set_destination(u_.get(), id)); }
  Status content_md5(bool on) { return detail::check(apiretry_upload_set_content_md5(u_.get(), on)); }
  Status part_rules(bool on) { return detail::check(apiretry_upload_set_part_rules(u_.get(), on)); }
  // Each part's URL asked with its range and whether it is the final one.
  Status part_callback(apiretry_upload_part_callback callback, void *user_data) {
    return detail::check(apiretry_upload_set_part_callback(u_.get(), callback, user_data));
  }
  // The file is still being written: parts are cut as it grows.
  Status growing(bool on) { return detail::check(apiretry_upload_set_growing(u_.get(), on)); }
  // The growing file's final size: the one call that may come from another
  // thread while run() runs.
  Status finish(std::uint64_t final_size) const {
    return detail::check(apiretry_upload_finish(u_.get(), final_size));
  }
  // After "urls_expired": forget the URLs, add fresh ones, run again.
  Status clear_urls() { return detail::check(apiretry_upload_clear_urls(u_.get())); }
  static std::uint64_t part_size_for(std::uint64_t size) {
    std::uint64_t part = 0;
    apiretry_upload_part_size_for(size, &part);
    return part;
  }
  // The classification's code is "urls_expired" when fresh URLs are needed.
  Status run(const Cancel *cancel = nullptr) {
    apiretry_classification *err = nullptr;
    apiretry_result r = apiretry_upload_run(u_.get(), cancel != nullptr ? cancel->get() : nullptr, &err);
    if (r != APIRETRY_RESULT_OK) return Error(r, Classification(err));
    return Status();
  }
  // After a run that succeeded: part `part`'s ETag (from 1).
  Result<std::string> etag(std::uint32_t part) const {
    std::size_t n = 0;
    apiretry_result r = apiretry_upload_etag(u_.get(), part, nullptr, 0, &n);
    if (r != APIRETRY_RESULT_BUFFER_TOO_SMALL) return Error(r);
    std::string s(n + 1, '\0');
    r = apiretry_upload_etag(u_.get(), part, s.data(), s.size(), &n);
    if (r != APIRETRY_RESULT_OK) return Error(r);
    s.resize(n);
    return s;
  }

 private:
  explicit Upload(apiretry_upload *u) : u_(u) {}
  detail::Owner<apiretry_upload, apiretry_upload_free> u_;
};

// Every clip a camera records, uploaded to Frame.io (apiretry_c2c_uploader_*):
// a queue in a state directory that survives power cycles. Freed (stopped,
// what is not over kept queued) when it goes out of scope.
class C2cUploader {
 public:
  static Result<C2cUploader> make(const Client &client, const char *state_dir) {
    apiretry_c2c_uploader *u = nullptr;
    apiretry_result r = apiretry_c2c_uploader_new(client.get(), state_dir, &u);
    if (r != APIRETRY_RESULT_OK) return Error(r);
    return C2cUploader(u);
  }
  Status on_event(apiretry_c2c_event_callback callback, void *user_data) {
    return detail::check(apiretry_c2c_uploader_set_event_callback(u_.get(), callback, user_data));
  }
  Status parallel(std::uint32_t files, std::uint32_t parts_per_file) {
    return detail::check(apiretry_c2c_uploader_set_parallel(u_.get(), files, parts_per_file));
  }
  Status start() { return detail::check(apiretry_c2c_uploader_start(u_.get())); }
  // flags: APIRETRY_C2C_ADD_RECORDING, APIRETRY_C2C_ADD_FIRST, or'ed.
  Result<std::uint64_t> add(const char *path, const char *filetype, std::int64_t created_unix_ms = 0,
                            std::uint32_t flags = 0) {
    std::uint64_t id = 0;
    apiretry_result r = apiretry_c2c_uploader_add(u_.get(), path, filetype, created_unix_ms, flags, &id);
    if (r != APIRETRY_RESULT_OK) return Error(r);
    return id;
  }
  Status finish(std::uint64_t id, std::uint64_t final_size) {
    return detail::check(apiretry_c2c_uploader_finish(u_.get(), id, final_size));
  }
  // 0: every item not over.
  Status cancel(std::uint64_t id) { return detail::check(apiretry_c2c_uploader_cancel(u_.get(), id)); }
  // Whether every item is over within timeout_ms.
  bool wait_idle(std::uint32_t timeout_ms) {
    bool idle = false;
    apiretry_c2c_uploader_wait_idle(u_.get(), timeout_ms, &idle);
    return idle;
  }

 private:
  explicit C2cUploader(apiretry_c2c_uploader *u) : u_(u) {}
  detail::Owner<apiretry_c2c_uploader, apiretry_c2c_uploader_free> u_;
};

}  // namespace apiretry

#endif  // APIRETRY_HPP
