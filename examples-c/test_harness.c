/*
 * Exercises every function of the C API: normal use, NULL and invalid UTF-8
 * arguments, small buffers. Built against the static and the shared library
 * by the Makefile and run (under valgrind) from `cargo test`.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apiretry.h"
#include "check.h"

static const char BAD_UTF8[] = {'c', (char)0xff, '2', 0};

static void test_result_messages(void) {
  char buf[128];
  size_t n = 0;
  CHECK(apiretry_result_message(APIRETRY_RESULT_OK, buf, sizeof buf, &n) == APIRETRY_RESULT_OK);
  CHECK(strcmp(buf, "ok") == 0 && n == 2);
  CHECK(apiretry_result_message(APIRETRY_RESULT_ABSENT, buf, sizeof buf, &n) == APIRETRY_RESULT_OK);
  CHECK(apiretry_result_message(12345, buf, sizeof buf, &n) == APIRETRY_RESULT_OK);
  CHECK(strcmp(buf, "unknown result code") == 0);
  CHECK(apiretry_result_message(APIRETRY_RESULT_OK, buf, 2, &n) == APIRETRY_RESULT_BUFFER_TOO_SMALL && n == 2);
  /* NULL with length 0 asks for the size; NULL with a length is a mistake. */
  CHECK(apiretry_result_message(APIRETRY_RESULT_OK, NULL, 0, &n) == APIRETRY_RESULT_BUFFER_TOO_SMALL && n == 2);
  CHECK(apiretry_result_message(APIRETRY_RESULT_OK, NULL, 8, &n) == APIRETRY_RESULT_NULL_POINTER && n == 2);
  CHECK(apiretry_result_message(APIRETRY_RESULT_OK, buf, sizeof buf, NULL) == APIRETRY_RESULT_NULL_POINTER);
}

static void test_profiles(void) {
  apiretry_profile *p = NULL;
  apiretry_classification *err = NULL;
  char buf[64];
  size_t n = 0;

  CHECK(apiretry_profile_builtin("c2c", &p) == APIRETRY_RESULT_OK && p != NULL);
  CHECK(apiretry_profile_name(p, buf, sizeof buf, &n) == APIRETRY_RESULT_OK && strcmp(buf, "c2c") == 0);
  CHECK(apiretry_profile_name(NULL, buf, sizeof buf, &n) == APIRETRY_RESULT_NULL_POINTER);
  apiretry_profile_free(p);

  CHECK(apiretry_profile_builtin(NULL, &p) == APIRETRY_RESULT_NULL_POINTER && p == NULL);
  CHECK(apiretry_profile_builtin(BAD_UTF8, &p) == APIRETRY_RESULT_INVALID_UTF8 && p == NULL);
  CHECK(apiretry_profile_builtin("nope", &p) == APIRETRY_RESULT_INVALID_ARGUMENT && p == NULL);
  CHECK(apiretry_profile_builtin("c2c", NULL) == APIRETRY_RESULT_NULL_POINTER);

  CHECK(apiretry_profile_from_json("{\"name\": \"mine\", \"base\": \"c2c\"}", &p, &err) == APIRETRY_RESULT_OK);
  CHECK(p != NULL && err == NULL);
  CHECK(apiretry_profile_name(p, buf, sizeof buf, &n) == APIRETRY_RESULT_OK && strcmp(buf, "mine") == 0);
  apiretry_profile_free(p);

  CHECK(apiretry_profile_from_json("{\"name\": \"x\", \"retry\": {\"paused\": \"no\"}}", &p, &err) ==
        APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(p == NULL && err != NULL);
  char message[512];
  CHECK(apiretry_classification_message(err, message, sizeof message, &n) == APIRETRY_RESULT_OK);
  CHECK(strstr(message, "unknown kind") != NULL);
  apiretry_classification_free(err);
  CHECK(apiretry_profile_from_json("not json", &p, NULL) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_profile_from_json(NULL, &p, &err) == APIRETRY_RESULT_NULL_POINTER && err == NULL);
  CHECK(apiretry_profile_from_json(BAD_UTF8, &p, &err) == APIRETRY_RESULT_INVALID_UTF8);
  CHECK(apiretry_profile_from_json("{}", NULL, NULL) == APIRETRY_RESULT_NULL_POINTER);

  apiretry_profile_free(NULL);
  apiretry_classification_free(NULL);
}

static void test_classify(void) {
  apiretry_profile *c2c = NULL;
  apiretry_classification *c = NULL;
  apiretry_kind kind;
  apiretry_category category;
  apiretry_retry retry;
  int32_t status;
  int64_t wait;
  char buf[512];
  size_t n = 0;
  CHECK(apiretry_profile_builtin("c2c", &c2c) == APIRETRY_RESULT_OK);

  const char *paused =
      "{\"code\": 409, \"errors\": [{\"code\": 409, \"detail\": \"The channel you're uploading from is "
      "currently paused.\", \"status\": 409, \"title\": \"Channel Paused\"}], \"message\": \"Channel Paused\"}";
  apiretry_header ids[] = {{"X-Request-Id", "req-1"}};
  CHECK(apiretry_classify(c2c, 409, ids, 1, (const uint8_t *)paused, strlen(paused), 201, &c) ==
        APIRETRY_RESULT_OK);
  CHECK(c != NULL);
  CHECK(apiretry_classification_kind(c, &kind) == APIRETRY_RESULT_OK && kind == APIRETRY_KIND_CHANNEL_PAUSED);
  CHECK(apiretry_classification_category(c, &category) == APIRETRY_RESULT_OK &&
        category == APIRETRY_CATEGORY_API);
  CHECK(apiretry_classification_retry(c, &retry) == APIRETRY_RESULT_OK && retry == APIRETRY_RETRY_NO);
  CHECK(apiretry_classification_status(c, &status) == APIRETRY_RESULT_OK && status == 409);
  CHECK(apiretry_classification_retry_after_ms(c, &wait) == APIRETRY_RESULT_OK && wait == -1);
  CHECK(apiretry_classification_code(c, buf, sizeof buf, &n) == APIRETRY_RESULT_OK &&
        strcmp(buf, "Channel Paused") == 0);
  CHECK(apiretry_classification_message(c, buf, sizeof buf, &n) == APIRETRY_RESULT_OK &&
        strcmp(buf, "The channel you're uploading from is currently paused.") == 0);
  CHECK(apiretry_classification_request_id(c, buf, sizeof buf, &n) == APIRETRY_RESULT_OK &&
        strcmp(buf, "req-1") == 0);
  CHECK(apiretry_classification_hint(c, buf, sizeof buf, &n) == APIRETRY_RESULT_OK && n > 0);
  CHECK(apiretry_classification_profile(c, buf, sizeof buf, &n) == APIRETRY_RESULT_OK && strcmp(buf, "c2c") == 0);
  CHECK(apiretry_classification_json(c, buf, sizeof buf, &n) == APIRETRY_RESULT_OK &&
        strstr(buf, "\"kind\":\"channel_paused\"") != NULL);
  CHECK(apiretry_classification_code(c, buf, 4, &n) == APIRETRY_RESULT_BUFFER_TOO_SMALL && n == 14);
  CHECK(apiretry_classification_code(c, NULL, 0, &n) == APIRETRY_RESULT_BUFFER_TOO_SMALL && n == 14);
  CHECK(strcmp(apiretry_kind_name(kind), "channel_paused") == 0);
  CHECK(apiretry_kind_name(9999) == NULL);
  apiretry_classification_free(c);

  /* Retry-After, and the absent optional fields. */
  apiretry_header wait3[] = {{"Retry-After", "3"}};
  CHECK(apiretry_classify(c2c, 429, wait3, 1, NULL, 0, -1, &c) == APIRETRY_RESULT_OK && c != NULL);
  CHECK(apiretry_classification_retry_after_ms(c, &wait) == APIRETRY_RESULT_OK && wait == 3000);
  CHECK(apiretry_classification_code(c, buf, sizeof buf, &n) == APIRETRY_RESULT_ABSENT);
  CHECK(apiretry_classification_request_id(c, buf, sizeof buf, &n) == APIRETRY_RESULT_ABSENT);
  apiretry_classification_free(c);

  /* A success with the expected status is no failure. */
  CHECK(apiretry_classify(c2c, 201, NULL, 0, NULL, 0, 201, &c) == APIRETRY_RESULT_OK && c == NULL);

  /* Bad arguments. */
  apiretry_header null_name[] = {{NULL, "x"}};
  apiretry_header bad_value[] = {{"Retry-After", BAD_UTF8}};
  CHECK(apiretry_classify(NULL, 500, NULL, 0, NULL, 0, -1, &c) == APIRETRY_RESULT_NULL_POINTER && c == NULL);
  CHECK(apiretry_classify(c2c, 500, NULL, 1, NULL, 0, -1, &c) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_classify(c2c, 500, null_name, 1, NULL, 0, -1, &c) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_classify(c2c, 500, NULL, 0, NULL, 10, -1, &c) == APIRETRY_RESULT_NULL_POINTER);
  /* Statuses are 100-599 (libcurl's 0 means no response arrived); so is `expected`. */
  const int bad_statuses[] = {0, 99, 600, 65535};
  for (size_t i = 0; i < sizeof bad_statuses / sizeof bad_statuses[0]; i++) {
    CHECK(apiretry_classify(c2c, (uint16_t)bad_statuses[i], NULL, 0, NULL, 0, -1, &c) ==
              APIRETRY_RESULT_INVALID_ARGUMENT &&
          c == NULL);
    CHECK(apiretry_classify(c2c, 200, NULL, 0, NULL, 0, bad_statuses[i], &c) == APIRETRY_RESULT_INVALID_ARGUMENT);
  }
  CHECK(apiretry_classify(c2c, 200, NULL, 0, NULL, 0, 70000, &c) == APIRETRY_RESULT_INVALID_ARGUMENT);
  /* One non-UTF-8 header value (servers send them) costs that value, not the call. */
  apiretry_header mixed[] = {{"X-Odd", BAD_UTF8}, {"Retry-After", "3"}};
  CHECK(apiretry_classify(c2c, 429, bad_value, 1, NULL, 0, -1, &c) == APIRETRY_RESULT_OK && c != NULL);
  apiretry_classification_free(c);
  CHECK(apiretry_classify(c2c, 429, mixed, 2, NULL, 0, -1, &c) == APIRETRY_RESULT_OK && c != NULL);
  int64_t wait_ms = 0;
  CHECK(apiretry_classification_retry_after_ms(c, &wait_ms) == APIRETRY_RESULT_OK && wait_ms == 3000);
  apiretry_classification_free(c);
  CHECK(apiretry_classify(c2c, 500, NULL, 0, NULL, 0, -1, NULL) == APIRETRY_RESULT_NULL_POINTER);
  /* Garbage bodies are classified by status. */
  const uint8_t garbage[] = {0xff, 0xfe, '{', '[', 0};
  CHECK(apiretry_classify(c2c, 503, NULL, 0, garbage, sizeof garbage, -1, &c) == APIRETRY_RESULT_OK);
  CHECK(apiretry_classification_kind(c, &kind) == APIRETRY_RESULT_OK && kind == APIRETRY_KIND_UNAVAILABLE);
  apiretry_classification_free(c);

  /* Accessors on NULL. */
  CHECK(apiretry_classification_kind(NULL, &kind) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_classification_category(NULL, &category) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_classification_retry(NULL, &retry) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_classification_status(NULL, &status) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_classification_retry_after_ms(NULL, &wait) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_classification_code(NULL, buf, sizeof buf, &n) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_classification_message(NULL, buf, sizeof buf, &n) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_classification_request_id(NULL, buf, sizeof buf, &n) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_classification_hint(NULL, buf, sizeof buf, &n) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_classification_profile(NULL, buf, sizeof buf, &n) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_classification_json(NULL, buf, sizeof buf, &n) == APIRETRY_RESULT_NULL_POINTER);
  apiretry_profile_free(c2c);
}

static void test_backoff(void) {
  apiretry_backoff_config config;
  uint64_t delays[9];
  CHECK(apiretry_backoff_default(&config) == APIRETRY_RESULT_OK);
  CHECK(config.base_ms == 500 && config.cap_ms == 32000 && config.jitter == APIRETRY_JITTER_SEED);
  config.jitter = APIRETRY_JITTER_NONE;
  CHECK(apiretry_backoff_schedule(&config, 42, delays, 9) == APIRETRY_RESULT_OK);
  const uint64_t want[9] = {500, 1000, 2000, 4000, 8000, 16000, 32000, 32000, 32000};
  CHECK(memcmp(delays, want, sizeof want) == 0);
  config.jitter = APIRETRY_JITTER_SEED;
  CHECK(apiretry_backoff_schedule(&config, 42, delays, 2) == APIRETRY_RESULT_OK);
  CHECK(delays[0] == 698 && delays[1] == 1247); /* the seeded schedule of tests/retry.rs */
  config.jitter = 77;
  CHECK(apiretry_backoff_schedule(&config, 42, delays, 9) == APIRETRY_RESULT_INVALID_ARGUMENT);
  config.jitter = APIRETRY_JITTER_FULL;
  CHECK(apiretry_backoff_schedule(&config, 42, NULL, 9) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_backoff_schedule(&config, 42, NULL, 0) == APIRETRY_RESULT_OK);
  CHECK(apiretry_backoff_schedule(NULL, 42, delays, 9) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_backoff_default(NULL) == APIRETRY_RESULT_NULL_POINTER);
}


/* ---- the client, against the mock server whose URL the Rust test passes ---- */

static atomic_int events = 0;
static atomic_int retries = 0;
static atomic_int refreshes = 0;

static void on_event(void *user_data, const apiretry_event *e) {
  (void)user_data;
  atomic_fetch_add(&events, 1);
  if (e->step == APIRETRY_STEP_RETRY) atomic_fetch_add(&retries, 1);
}

static apiretry_result refresh(void *user_data, char *buf, size_t len, size_t *out_n) {
  (void)user_data;
  const char *token = "new-token";
  atomic_fetch_add(&refreshes, 1);
  if (len < strlen(token)) return APIRETRY_RESULT_BUFFER_TOO_SMALL;
  memcpy(buf, token, strlen(token));
  *out_n = strlen(token);
  return APIRETRY_RESULT_OK;
}

/* A c2c client with fast backoff; WITHOUT_BUDGET turns the retry budget
 * off, for tests that count attempts after many failures. */
static apiretry_client *make_client_budget(const char *url, bool without_budget) {
  apiretry_client_builder *b = NULL;
  apiretry_client *client = NULL;
  apiretry_profile *c2c = NULL;
  apiretry_backoff_config fast;
  CHECK(apiretry_client_builder_new(url, &b) == APIRETRY_RESULT_OK);
  CHECK(apiretry_profile_builtin("c2c", &c2c) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_profile(b, c2c) == APIRETRY_RESULT_OK);
  apiretry_profile_free(c2c);
  CHECK(apiretry_backoff_default(&fast) == APIRETRY_RESULT_OK);
  fast.base_ms = 10;
  fast.cap_ms = 50;
  CHECK(apiretry_client_builder_set_policy(b, 4, 0, &fast) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_timeouts(b, 5000, 5000, 5000) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_rate_limit(b, 0, 0) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_token(b, "old-token") == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_health_path(b, "/health") == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_refresh_callback(b, refresh, NULL) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_event_callback(b, on_event, NULL) == APIRETRY_RESULT_OK);
  if (without_budget) CHECK(apiretry_client_builder_set_budget(b, 0, 0) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_build(b, &client) == APIRETRY_RESULT_OK && client != NULL);
  return client;
}

static apiretry_client *make_client(const char *url) { return make_client_budget(url, false); }

/* Sends METHOD PATH; returns the status, or the failure's kind + 1000. */
static int send(apiretry_client *client, const char *method, const char *path, int expect,
                const apiretry_cancel *cancel) {
  apiretry_request *req = NULL;
  apiretry_response *resp = NULL;
  apiretry_classification *err = NULL;
  CHECK(apiretry_request_new(method, path, &req) == APIRETRY_RESULT_OK);
  if (expect > 0) CHECK(apiretry_request_set_expect(req, (uint16_t)expect) == APIRETRY_RESULT_OK);
  apiretry_result r = apiretry_client_send(client, req, cancel, &resp, &err);
  int outcome;
  if (r == APIRETRY_RESULT_OK) {
    uint16_t status = 0;
    CHECK(apiretry_response_status(resp, &status) == APIRETRY_RESULT_OK);
    outcome = status;
  } else {
    apiretry_kind kind = 0;
    CHECK(r == APIRETRY_RESULT_API_FAILURE && err != NULL);
    CHECK(apiretry_classification_kind(err, &kind) == APIRETRY_RESULT_OK);
    outcome = 1000 + (int)kind;
  }
  apiretry_response_free(resp);
  apiretry_classification_free(err);
  apiretry_request_free(req);
  return outcome;
}

static void *send_five(void *client) {
  for (int i = 0; i < 5; i++) CHECK(send(client, "GET", "/ok", 200, NULL) == 200);
  return NULL;
}

static void *cancel_soon(void *cancel) {
  usleep(100 * 1000);
  CHECK(apiretry_cancel_cancel(cancel) == APIRETRY_RESULT_OK);
  return NULL;
}

static void test_client(const char *url) {
  apiretry_client *client = make_client(url);

  /* A response: status, headers, body. */
  apiretry_request *req = NULL;
  apiretry_response *resp = NULL;
  apiretry_classification *err = NULL;
  char buf[64];
  size_t n = 0;
  const uint8_t *body = NULL;
  size_t body_len = 0;
  CHECK(apiretry_request_new("GET", "/ok", &req) == APIRETRY_RESULT_OK);
  CHECK(apiretry_request_add_header(req, "Accept", "application/json") == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_send(client, req, NULL, &resp, &err) == APIRETRY_RESULT_OK && err == NULL);
  CHECK(apiretry_response_header(resp, "x-request-id", buf, sizeof buf, &n) == APIRETRY_RESULT_OK &&
        strcmp(buf, "r-1") == 0);
  CHECK(apiretry_response_header(resp, "x-missing", buf, sizeof buf, &n) == APIRETRY_RESULT_ABSENT);
  CHECK(apiretry_response_body(resp, &body, &body_len) == APIRETRY_RESULT_OK && body_len == 11 &&
        memcmp(body, "{\"ok\":true}", 11) == 0);
  apiretry_response_free(resp);
  apiretry_request_free(req);

  /* A NULL out_error: the failure is told by the result alone, and its
   * classification freed for the caller (valgrind: no leak). */
  apiretry_client *own = make_client_budget(url, true); /* spends no shared budget */
  CHECK(apiretry_request_new("GET", "/unavailable", &req) == APIRETRY_RESULT_OK);
  resp = (apiretry_response *)&n; /* cleared by the call */
  CHECK(apiretry_client_send(own, req, NULL, &resp, NULL) == APIRETRY_RESULT_API_FAILURE);
  CHECK(resp == NULL);
  apiretry_request_free(req);
  apiretry_client_free(own);

  /* Seed 001 scenarios through the client. */
  CHECK(send(client, "POST", "/assets/a1/children", 201, NULL) == 201); /* 429 slow_down, then 201 */
  CHECK(send(client, "POST", "/paused", 201, NULL) == 1000 + APIRETRY_KIND_CHANNEL_PAUSED);
  CHECK(send(client, "GET", "/secure", 200, NULL) == 200); /* 401, refresh, 200 */
  CHECK(atomic_load(&refreshes) == 1);
  CHECK(atomic_load(&retries) >= 1 && atomic_load(&events) >= 5);

  /* An upload chunk to S3, classified with the s3 profile, retried once. */
  apiretry_profile *s3 = NULL;
  CHECK(apiretry_profile_builtin("s3", &s3) == APIRETRY_RESULT_OK);
  CHECK(apiretry_request_new("PUT", "/chunk/1", &req) == APIRETRY_RESULT_OK);
  CHECK(apiretry_request_set_profile(req, s3) == APIRETRY_RESULT_OK);
  CHECK(apiretry_request_set_class(req, APIRETRY_REQUEST_CLASS_CHUNK_UPLOAD) == APIRETRY_RESULT_OK);
  CHECK(apiretry_request_set_unauthorized(req, false) == APIRETRY_RESULT_OK);
  static const uint8_t chunk[4096] = {1, 2, 3};
  CHECK(apiretry_request_set_body(req, chunk, sizeof chunk) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_send(client, req, NULL, &resp, &err) == APIRETRY_RESULT_OK);
  apiretry_response_free(resp);
  apiretry_request_free(req);
  apiretry_profile_free(s3);

  /* Several threads share the client. */
  pthread_t threads[4];
  for (int i = 0; i < 4; i++) pthread_create(&threads[i], NULL, send_five, client);
  for (int i = 0; i < 4; i++) pthread_join(threads[i], NULL);

  /* Cancel from another thread while the call waits out a 5 s backoff. */
  apiretry_client_builder *b = NULL;
  apiretry_client *slow = NULL;
  apiretry_backoff_config backoff;
  CHECK(apiretry_backoff_default(&backoff) == APIRETRY_RESULT_OK);
  backoff.base_ms = 5000;
  CHECK(apiretry_client_builder_new(url, &b) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_policy(b, 3, 0, &backoff) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_build(b, &slow) == APIRETRY_RESULT_OK);
  apiretry_cancel *cancel = NULL;
  pthread_t canceller;
  CHECK(apiretry_cancel_new(&cancel) == APIRETRY_RESULT_OK);
  pthread_create(&canceller, NULL, cancel_soon, cancel);
  CHECK(send(slow, "GET", "/unavailable", 200, cancel) == 1000 + APIRETRY_KIND_CANCELLED);
  pthread_join(canceller, NULL);
  apiretry_cancel_free(cancel);
  apiretry_client_free(slow);

  /* New credentials from the application. */
  CHECK(apiretry_client_set_token(client, "fresh") == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_set_token(client, BAD_UTF8) == APIRETRY_RESULT_INVALID_UTF8);
  CHECK(apiretry_client_set_token(client, "fresh\n") == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_client_set_token(client, NULL) == APIRETRY_RESULT_NULL_POINTER);
  /* The link changed: the next call goes on a fresh connection. */
  CHECK(apiretry_client_network_changed(client) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_network_changed(NULL) == APIRETRY_RESULT_NULL_POINTER);
  /* An upload's arguments: NULLs, a zero part size, a bad URL, a result asked too soon. */
  apiretry_upload *up = NULL;
  uint32_t parts = 0;
  CHECK(apiretry_upload_new(NULL, "clip.mov", 1024, &up) == APIRETRY_RESULT_NULL_POINTER && up == NULL);
  CHECK(apiretry_upload_new(client, "clip.mov", 0, &up) == APIRETRY_RESULT_INVALID_ARGUMENT && up == NULL);
  CHECK(apiretry_upload_new(client, BAD_UTF8, 1024, &up) == APIRETRY_RESULT_INVALID_UTF8);
  CHECK(apiretry_upload_new(client, "clip.mov", 1024, &up) == APIRETRY_RESULT_OK);
  CHECK(apiretry_upload_add_url(up, "not a url") == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_upload_add_url(NULL, "http://x/1") == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_upload_set_parallel(up, 65) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_upload_set_parallel(up, 0) == APIRETRY_RESULT_OK); /* the engine chooses */
  CHECK(apiretry_upload_set_url_callback(up, NULL, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_upload_result(up, &parts, NULL, NULL) == APIRETRY_RESULT_ABSENT);
  CHECK(apiretry_upload_add_header(up, "x-amz-acl", "private") == APIRETRY_RESULT_OK);
  CHECK(apiretry_upload_add_header(up, "bad name", "v") == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_upload_add_header(up, "x-a", "two\r\nlines") == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_upload_add_header(up, NULL, "v") == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_upload_add_header(NULL, "x-a", "v") == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_upload_set_destination(up, "") == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_upload_set_destination(up, BAD_UTF8) == APIRETRY_RESULT_INVALID_UTF8);
  CHECK(apiretry_upload_set_destination(up, "asset-1") == APIRETRY_RESULT_OK);
  CHECK(apiretry_upload_set_content_md5(up, true) == APIRETRY_RESULT_OK);
  CHECK(apiretry_upload_set_part_rules(NULL, true) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_upload_clear_urls(up) == APIRETRY_RESULT_OK);
  uint64_t part_size = 0;
  CHECK(apiretry_upload_part_size_for(100ull << 30, &part_size) == APIRETRY_RESULT_OK && part_size == 16u << 20);
  CHECK(apiretry_upload_part_size_for_urls(64u << 20, 3, &part_size) == APIRETRY_RESULT_OK &&
        part_size == 22369622);
  CHECK(apiretry_upload_part_size_for_urls(1, 0, &part_size) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_upload_part_size_for(1, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_upload_run(up, NULL, NULL) == APIRETRY_RESULT_API_FAILURE); /* no such file */
  apiretry_upload_free(up);
  apiretry_upload_free(NULL);
  CHECK(apiretry_request_new("GET", "/ok", &req) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_send(client, req, NULL, &resp, &err) == APIRETRY_RESULT_OK);
  CHECK(apiretry_response_header(resp, BAD_UTF8, buf, sizeof buf, &n) == APIRETRY_RESULT_INVALID_UTF8);
  CHECK(apiretry_response_header(resp, NULL, buf, sizeof buf, &n) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_response_header(resp, "x-request-id", buf, 2, &n) == APIRETRY_RESULT_BUFFER_TOO_SMALL && n == 3);
  CHECK(apiretry_response_status(resp, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_response_body(resp, NULL, &n) == APIRETRY_RESULT_NULL_POINTER);
  apiretry_response_free(resp);
  apiretry_request_free(req);
  apiretry_client_free(client);
}

static double seconds_since(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Every call ends: a dead host with 2 attempts, and a deadline that falls
 * while the server has not answered yet (issue 11, items 7 and 9). The
 * bounds leave room for valgrind. */
static void test_calls_end(const char *url) {
  apiretry_client_builder *b = NULL;
  apiretry_client *client = NULL;
  struct timespec t0;

  CHECK(apiretry_client_builder_new("http://127.0.0.1:1", &b) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_policy(b, 2, 0, NULL) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_build(b, &client) == APIRETRY_RESULT_OK);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CHECK(send(client, "GET", "/x", 200, NULL) == 1000 + APIRETRY_KIND_CONNECTION);
  CHECK(seconds_since(&t0) < 10.0);
  apiretry_client_free(client);

  CHECK(apiretry_client_builder_new(url, &b) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_policy(b, 3, 1000, NULL) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_build(b, &client) == APIRETRY_RESULT_OK);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CHECK(send(client, "GET", "/delay", 200, NULL) == 1000 + APIRETRY_KIND_DEADLINE_EXCEEDED);
  double took = seconds_since(&t0);
  CHECK(took >= 1.0 && took < 5.0);
  apiretry_client_free(client);
}

/* HTTPS against the mock with a test CA: trusted through the CA file, and
 * refused (TLS, not retried) without it. */
static void test_tls(const char *url, const char *ca_file) {
  apiretry_client_builder *b = NULL;
  apiretry_client *client = NULL;

  CHECK(apiretry_client_builder_new(url, &b) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_add_ca_file(b, ca_file) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_roots(b, APIRETRY_ROOTS_NONE) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_build(b, &client) == APIRETRY_RESULT_OK);
  CHECK(send(client, "GET", "/ok", 200, NULL) == 200);
  apiretry_client_free(client);

  CHECK(apiretry_client_builder_new(url, &b) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_policy(b, 3, 0, NULL) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_build(b, &client) == APIRETRY_RESULT_OK);
  CHECK(send(client, "GET", "/ok", 200, NULL) == 1000 + APIRETRY_KIND_TLS);
  apiretry_client_free(client);

  /* Bad TLS and proxy arguments, refused where they are given. */
  static const uint8_t not_pem[] = "not a certificate";
  CHECK(apiretry_client_builder_new(url, &b) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_add_ca_pem(b, not_pem, sizeof not_pem) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_client_builder_add_ca_pem(b, NULL, 3) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_builder_add_ca_pem(NULL, not_pem, 3) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_builder_add_ca_file(b, "/nonexistent/ca.pem") == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_client_builder_add_ca_file(b, BAD_UTF8) == APIRETRY_RESULT_INVALID_UTF8);
  CHECK(apiretry_client_builder_add_ca_file(b, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_builder_set_roots(b, 9) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_client_builder_set_roots(NULL, 0) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_builder_set_client_certificate(b, not_pem, sizeof not_pem, not_pem, sizeof not_pem) ==
        APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_client_builder_set_client_certificate(b, NULL, 0, not_pem, 3) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_client_builder_set_proxy(b, "ftp://proxy") == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_client_builder_set_proxy(b, BAD_UTF8) == APIRETRY_RESULT_INVALID_UTF8);
  CHECK(apiretry_client_builder_set_proxy(b, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_builder_set_proxy(b, "http://user:pw@127.0.0.1:1") == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_proxy_from_env(NULL) == APIRETRY_RESULT_NULL_POINTER);
  apiretry_client_builder_free(b);
}

/* ---- Safety bugs found from C (issue 12, item 9) ---- */

/* A refresh callback that sends an authorized request through the same
 * client: that nested call fails at once instead of waiting for ever. */
struct reentry {
  apiretry_client *client;
  int nested_kind;
};

static uint32_t reentrant_refresh(void *user_data, char *buf, size_t len, size_t *out_n) {
  struct reentry *r = user_data;
  r->nested_kind = send(r->client, "GET", "/ok", 200, NULL);
  const char *token = "new-token";
  if (len < strlen(token)) return APIRETRY_RESULT_BUFFER_TOO_SMALL;
  memcpy(buf, token, strlen(token));
  *out_n = strlen(token);
  return APIRETRY_RESULT_OK;
}

/* A token longer than the first buffer: asked for again with room for it. */
static uint32_t long_refresh(void *user_data, char *buf, size_t len, size_t *out_n) {
  (void)user_data;
  *out_n = 10000;
  if (len < 10000) return APIRETRY_RESULT_BUFFER_TOO_SMALL;
  memset(buf, 'k', 10000);
  return APIRETRY_RESULT_OK;
}

/* Any number from the callback is safe: not a result code means transient. */
static uint32_t odd_refresh(void *user_data, char *buf, size_t len, size_t *out_n) {
  (void)user_data, (void)buf, (void)len, (void)out_n;
  return 1234;
}

static atomic_int freed = 0;
static atomic_int calls_after_free = 0;

static void counting_state(void *user_data, uint32_t state) {
  (void)state;
  if (atomic_load(&freed)) atomic_fetch_add(&calls_after_free, 1);
  int *count = user_data; /* freed right after apiretry_client_free: valgrind sees any late use */
  (*count)++;
}

static apiretry_client *refreshing_client(const char *url, apiretry_refresh_callback cb, void *ud) {
  apiretry_client_builder *b = NULL;
  apiretry_client *client = NULL;
  CHECK(apiretry_client_builder_new(url, &b) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_policy(b, 2, 10000, NULL) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_token(b, "old-token") == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_refresh_callback(b, cb, ud) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_build(b, &client) == APIRETRY_RESULT_OK);
  return client;
}

static void test_safety(const char *url) {
  struct reentry r = {NULL, 0};
  r.client = refreshing_client(url, reentrant_refresh, &r);
  CHECK(send(r.client, "GET", "/reentry", 200, NULL) == 200);
  CHECK(r.nested_kind == 1000 + APIRETRY_KIND_APPLICATION);
  apiretry_client_free(r.client);

  apiretry_client *client = refreshing_client(url, long_refresh, NULL);
  CHECK(send(client, "GET", "/long-token", 200, NULL) == 200);
  apiretry_client_free(client);

  /* The odd result is a transient refresh failure (retried once); the
   * route then answers 200. */
  client = refreshing_client(url, odd_refresh, NULL);
  CHECK(send(client, "GET", "/odd-refresh", 200, NULL) == 200);
  apiretry_client_free(client);

  /* No state callback after apiretry_client_free returns: the call is reset
   * (disconnected), the probe of the health path takes 500 ms, and the
   * client is freed while it is in flight. */
  apiretry_client_builder *b = NULL;
  apiretry_backoff_config fast;
  CHECK(apiretry_backoff_default(&fast) == APIRETRY_RESULT_OK);
  fast.base_ms = 10;
  int *count = malloc(sizeof *count);
  *count = 0;
  CHECK(apiretry_client_builder_new(url, &b) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_policy(b, 1, 0, &fast) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_health_path(b, "/slow-health") == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_state_callback(b, counting_state, count) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_build(b, &client) == APIRETRY_RESULT_OK);
  CHECK(send(client, "GET", "/reset", 200, NULL) == 1000 + APIRETRY_KIND_CONNECTION);
  CHECK(*count == 1); /* disconnected */
  usleep(150 * 1000);
  apiretry_client_free(client);
  atomic_store(&freed, 1);
  free(count);
  usleep(1000 * 1000);
  CHECK(atomic_load(&calls_after_free) == 0);
}

/* The retry budget, visible and configurable (issue 12, item 4): with the
 * default budget, failing calls soon stop retrying and the event says why;
 * without one, every call gets all its attempts. */
static atomic_int budget_stops = 0;
static atomic_int attempts_seen = 0;

static void on_budget_event(void *user_data, const apiretry_event *e) {
  (void)user_data;
  atomic_fetch_add(&attempts_seen, 1);
  if (e->step == APIRETRY_STEP_GIVE_UP && e->stop_reason == APIRETRY_STOP_REASON_BUDGET)
    atomic_fetch_add(&budget_stops, 1);
}

static void test_budget(const char *url) {
  apiretry_backoff_config fast;
  CHECK(apiretry_backoff_default(&fast) == APIRETRY_RESULT_OK);
  fast.base_ms = 1;
  fast.cap_ms = 2;
  for (int without = 0; without < 2; without++) {
    apiretry_client_builder *b = NULL;
    apiretry_client *client = NULL;
    CHECK(apiretry_client_builder_new(url, &b) == APIRETRY_RESULT_OK);
    CHECK(apiretry_client_builder_set_policy(b, 4, 0, &fast) == APIRETRY_RESULT_OK);
    if (without) CHECK(apiretry_client_builder_set_budget(b, 0, 0) == APIRETRY_RESULT_OK);
    CHECK(apiretry_client_builder_set_event_callback(b, on_budget_event, NULL) == APIRETRY_RESULT_OK);
    CHECK(apiretry_client_builder_build(b, &client) == APIRETRY_RESULT_OK);
    atomic_store(&budget_stops, 0);
    atomic_store(&attempts_seen, 0);
    for (int i = 0; i < 6; i++) CHECK(send(client, "GET", "/unavailable", 200, NULL) == 1000 + APIRETRY_KIND_UNAVAILABLE);
    if (without) {
      CHECK(atomic_load(&budget_stops) == 0 && atomic_load(&attempts_seen) == 24);
    } else {
      CHECK(atomic_load(&budget_stops) > 0 && atomic_load(&attempts_seen) < 24);
    }
    apiretry_client_free(client);
  }
  apiretry_client_builder *b = NULL;
  CHECK(apiretry_client_builder_new(url, &b) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_budget(b, -1, 0.1) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_client_builder_set_budget(b, 0.5, 0.1) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_client_builder_set_budget(b, 5000, 0.1) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_client_builder_set_budget(b, 10, 2) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_client_builder_set_budget(b, NAN, 0.1) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_client_builder_set_budget(b, 20, 0.2) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_budget(NULL, 10, 0.1) == APIRETRY_RESULT_NULL_POINTER);
  apiretry_client_builder_free(b);
}

/* Fleet-safe defaults (issue 17): the default budget never cuts a fresh
 * client's call short, and a call cancelled anywhere ends with exactly one
 * terminal event, `cancelled`. */
static atomic_int steps_seen[4];
static atomic_uint last_stop_reason;

static void on_step(void *user_data, const apiretry_event *e) {
  (void)user_data;
  if (e->step < 4) atomic_fetch_add(&steps_seen[e->step], 1);
  if (e->step == APIRETRY_STEP_GIVE_UP) atomic_store(&last_stop_reason, e->stop_reason);
}

static void reset_steps(void) {
  for (int i = 0; i < 4; i++) atomic_store(&steps_seen[i], 0);
}

/* A client with seed 001's 8 attempts on BACKOFF, the default budget, and
 * HEALTH_PATH probed while disconnected. */
static apiretry_client *counting_client(const char *url, const apiretry_backoff_config *backoff,
                                        uint32_t requests, uint64_t per_ms, const char *health_path) {
  apiretry_client_builder *b = NULL;
  apiretry_client *client = NULL;
  CHECK(apiretry_client_builder_new(url, &b) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_policy(b, 8, 0, backoff) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_rate_limit(b, requests, per_ms) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_health_path(b, health_path) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_event_callback(b, on_step, NULL) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_build(b, &client) == APIRETRY_RESULT_OK);
  return client;
}

static atomic_int cancelled_results = 0;

struct cancelled_call {
  apiretry_client *client;
  const char *path;
  unsigned delay_ms;
};

static void *fire_cancel(void *arg) {
  struct { apiretry_cancel *cancel; unsigned ms; } *t = arg;
  usleep(t->ms * 1000);
  CHECK(apiretry_cancel_cancel(t->cancel) == APIRETRY_RESULT_OK);
  return NULL;
}

/* Four calls, each cancelled DELAY_MS in while it waits (at the limiter, or
 * at the closed connectivity gate). */
static void *cancelled_calls(void *arg) {
  struct cancelled_call *c = arg;
  for (int i = 0; i < 4; i++) {
    struct { apiretry_cancel *cancel; unsigned ms; } t = {NULL, c->delay_ms};
    pthread_t canceller;
    CHECK(apiretry_cancel_new(&t.cancel) == APIRETRY_RESULT_OK);
    pthread_create(&canceller, NULL, fire_cancel, &t);
    if (send(c->client, "GET", c->path, 200, t.cancel) == 1000 + APIRETRY_KIND_CANCELLED)
      atomic_fetch_add(&cancelled_results, 1);
    pthread_join(canceller, NULL);
    apiretry_cancel_free(t.cancel);
  }
  return NULL;
}

static void test_fleet_safe(const char *url) {
  apiretry_backoff_config fast;
  CHECK(apiretry_backoff_default(&fast) == APIRETRY_RESULT_OK);
  fast.base_ms = 1;
  fast.cap_ms = 4;

  /* Seed 001's 8 attempts on a fresh client: 503 six times, then 200. */
  apiretry_client *client = counting_client(url, &fast, 0, 0, "/health");
  reset_steps();
  CHECK(send(client, "GET", "/flaky-seven", 200, NULL) == 200);
  CHECK(atomic_load(&steps_seen[APIRETRY_STEP_RETRY]) == 6);
  CHECK(atomic_load(&steps_seen[APIRETRY_STEP_SUCCESS]) == 1);
  CHECK(atomic_load(&steps_seen[APIRETRY_STEP_GIVE_UP]) == 0);
  apiretry_client_free(client);
  /* ... and one that never succeeds makes all 8, then stops for them. */
  client = counting_client(url, &fast, 0, 0, "/health");
  reset_steps();
  CHECK(send(client, "GET", "/unavailable", 200, NULL) == 1000 + APIRETRY_KIND_UNAVAILABLE);
  CHECK(atomic_load(&steps_seen[APIRETRY_STEP_RETRY]) == 7);
  CHECK(atomic_load(&steps_seen[APIRETRY_STEP_GIVE_UP]) == 1);
  CHECK(atomic_load(&last_stop_reason) == APIRETRY_STOP_REASON_ATTEMPTS);
  apiretry_client_free(client);

  /* 16 threads, 64 cancellations: 32 at the rate limiter (one request an
   * hour, its one token spent first), 32 at a closed gate (the health check
   * is reset too, so it stays closed). Every call's one terminal event is
   * `cancelled`. */
  apiretry_client *limited = counting_client(url, &fast, 1, 3600 * 1000, "/health");
  apiretry_backoff_config slow;
  CHECK(apiretry_backoff_default(&slow) == APIRETRY_RESULT_OK);
  apiretry_client *gated = counting_client(url, &slow, 0, 0, "/reset");
  CHECK(send(limited, "GET", "/ok", 200, NULL) == 200);
  struct cancelled_call warmup = {gated, "/reset", 300};
  atomic_store(&cancelled_results, 0);
  reset_steps();
  /* The gate closes on this call's reset; it then waits there until cancelled. */
  cancelled_calls(&warmup);
  CHECK(atomic_load(&cancelled_results) == 4);
  atomic_store(&cancelled_results, 0);
  reset_steps();
  pthread_t threads[16];
  struct cancelled_call calls[16];
  for (int i = 0; i < 16; i++) {
    calls[i] = (struct cancelled_call){i % 2 ? limited : gated, "/ok", 30};
    pthread_create(&threads[i], NULL, cancelled_calls, &calls[i]);
  }
  for (int i = 0; i < 16; i++) pthread_join(threads[i], NULL);
  CHECK(atomic_load(&cancelled_results) == 64);
  CHECK(atomic_load(&steps_seen[APIRETRY_STEP_CANCELLED]) == 64);
  CHECK(atomic_load(&steps_seen[APIRETRY_STEP_GIVE_UP]) == 0);
  CHECK(atomic_load(&steps_seen[APIRETRY_STEP_SUCCESS]) == 0);
  apiretry_client_free(limited);
  apiretry_client_free(gated);
}

/* A link gone silent mid-download ends the attempt as a timeout within the
 * stall limit (issue 19, item 3). */
static void test_stall(const char *url) {
  apiretry_client_builder *b = NULL;
  apiretry_client *client = NULL;
  CHECK(apiretry_client_builder_new(url, &b) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_stall_limits(b, 0, 1000, 1000) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_client_builder_set_stall_limits(NULL, 300, 300, 300) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_builder_set_stall_limits(b, 300, 300, 300) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_policy(b, 1, 0, NULL) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_build(b, &client) == APIRETRY_RESULT_OK);
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CHECK(send(client, "GET", "/stalled-download", 200, NULL) == 1000 + APIRETRY_KIND_TIMEOUT);
  CHECK(seconds_since(&t0) < 2.5);
  apiretry_client_free(client);
}

/* The decision machine for C's own HTTP stack (issue 12, item 1): a call
 * handle fed each attempt's outcome answers as apiretry_client_send would. */
static apiretry_decision decide(apiretry_call *call, uint16_t status, const char *body, apiretry_kind *kind) {
  apiretry_decision d;
  apiretry_classification *c = NULL;
  memset(&d, 0xff, sizeof d);
  CHECK(apiretry_call_on_response(call, status, NULL, 0, (const uint8_t *)body, body ? strlen(body) : 0, -1, &d, &c) ==
        APIRETRY_RESULT_OK);
  *kind = (apiretry_kind)-1;
  if (c != NULL) CHECK(apiretry_classification_kind(c, kind) == APIRETRY_RESULT_OK);
  apiretry_classification_free(c);
  return d;
}

static void test_decisions(void) {
  apiretry_profile *s3 = NULL, *c2c = NULL;
  apiretry_retrier *r = NULL, *two = NULL, *paused = NULL, *quick = NULL;
  apiretry_call *call = NULL;
  apiretry_decision d;
  apiretry_classification *c = NULL;
  apiretry_kind kind;
  char buf[256];
  size_t n;
  const char *slow = "<Error><Code>SlowDown</Code><Message>m</Message></Error>";
  const char *internal = "<Error><Code>InternalError</Code><Message>m</Message></Error>";
  CHECK(apiretry_profile_builtin("s3", &s3) == APIRETRY_RESULT_OK);
  CHECK(apiretry_profile_builtin("c2c", &c2c) == APIRETRY_RESULT_OK);
  CHECK(apiretry_retrier_new(s3, 4, 0, NULL, &r) == APIRETRY_RESULT_OK);
  /* The budget is shared by a retrier's calls: these would spend it. */
  CHECK(apiretry_retrier_set_budget(r, 0, 0) == APIRETRY_RESULT_OK);

  /* SlowDown: retry after seed 001's first delay (0.5 s + up to half);
   * InternalError: once; again: stop. */
  CHECK(apiretry_call_new(r, NULL, &call) == APIRETRY_RESULT_OK);
  d = decide(call, 503, slow, &kind);
  CHECK(d.action == APIRETRY_ACTION_RETRY && d.delay_ms >= 500 && d.delay_ms <= 750 && d.attempts == 1);
  CHECK(kind == APIRETRY_KIND_RATE_LIMITED);
  d = decide(call, 500, internal, &kind);
  CHECK(d.action == APIRETRY_ACTION_RETRY && d.delay_ms >= 1000 && d.delay_ms <= 1500 && d.attempts == 2);
  d = decide(call, 500, internal, &kind);
  CHECK(d.action == APIRETRY_ACTION_STOP && d.stop_reason == APIRETRY_STOP_REASON_ONCE_USED && d.attempts == 3);
  CHECK(kind == APIRETRY_KIND_SERVER_ERROR);
  CHECK(apiretry_call_on_response(call, 200, NULL, 0, NULL, 0, -1, &d, NULL) == APIRETRY_RESULT_INVALID_ARGUMENT);
  apiretry_call_free(call);

  /* Success; and a 200 carrying an S3 <Error> is none. */
  CHECK(apiretry_call_new(r, NULL, &call) == APIRETRY_RESULT_OK);
  d = decide(call, 200, internal, &kind);
  CHECK(d.action == APIRETRY_ACTION_RETRY && kind == APIRETRY_KIND_SERVER_ERROR);
  CHECK(apiretry_call_on_response(call, 200, NULL, 0, NULL, 0, 200, &d, &c) == APIRETRY_RESULT_OK);
  CHECK(d.action == APIRETRY_ACTION_SUCCESS && c == NULL && d.attempts == 2);
  apiretry_call_free(call);

  /* Retry-After wins over a shorter backoff. */
  apiretry_header wait3[] = {{"Retry-After", "3"}};
  CHECK(apiretry_call_new(r, NULL, &call) == APIRETRY_RESULT_OK);
  CHECK(apiretry_call_on_response(call, 429, wait3, 1, NULL, 0, -1, &d, NULL) == APIRETRY_RESULT_OK);
  CHECK(d.action == APIRETRY_ACTION_RETRY && d.delay_ms == 3000);
  apiretry_call_free(call);

  /* A transport failure with the caller's own message. */
  CHECK(apiretry_call_new(r, NULL, &call) == APIRETRY_RESULT_OK);
  CHECK(apiretry_call_on_transport_error(call, APIRETRY_TRANSPORT_CONNECTION_REFUSED,
                                         "Failed to connect to 127.0.0.1 port 9", &d, &c) == APIRETRY_RESULT_OK);
  CHECK(d.action == APIRETRY_ACTION_RETRY);
  CHECK(apiretry_classification_kind(c, &kind) == APIRETRY_RESULT_OK && kind == APIRETRY_KIND_CONNECTION);
  CHECK(apiretry_classification_message(c, buf, sizeof buf, &n) == APIRETRY_RESULT_OK && strstr(buf, "port 9") != NULL);
  apiretry_classification_free(c);
  CHECK(apiretry_call_on_transport_error(call, 99, NULL, &d, NULL) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_call_on_transport_error(call, APIRETRY_TRANSPORT_TLS, BAD_UTF8, &d, NULL) == APIRETRY_RESULT_OK);
  CHECK(d.action == APIRETRY_ACTION_RETRY); /* tls: once */
  CHECK(apiretry_call_on_transport_error(call, APIRETRY_TRANSPORT_TLS, NULL, &d, NULL) == APIRETRY_RESULT_OK);
  CHECK(d.action == APIRETRY_ACTION_STOP && d.stop_reason == APIRETRY_STOP_REASON_ONCE_USED);
  apiretry_call_free(call);

  /* Attempts, Channel Paused, deadline, cancellation. */
  CHECK(apiretry_retrier_new(s3, 2, 0, NULL, &two) == APIRETRY_RESULT_OK);
  CHECK(apiretry_call_new(two, NULL, &call) == APIRETRY_RESULT_OK);
  CHECK(decide(call, 503, NULL, &kind).action == APIRETRY_ACTION_RETRY);
  d = decide(call, 503, NULL, &kind);
  CHECK(d.action == APIRETRY_ACTION_STOP && d.stop_reason == APIRETRY_STOP_REASON_ATTEMPTS);
  apiretry_call_free(call);
  CHECK(apiretry_retrier_new(c2c, 8, 0, NULL, &paused) == APIRETRY_RESULT_OK);
  CHECK(apiretry_call_new(paused, NULL, &call) == APIRETRY_RESULT_OK);
  d = decide(call, 409, "{\"error\": \"Channel Paused\"}", &kind);
  CHECK(d.action == APIRETRY_ACTION_STOP && d.stop_reason == APIRETRY_STOP_REASON_NOT_RETRYABLE &&
        kind == APIRETRY_KIND_CHANNEL_PAUSED);
  apiretry_call_free(call);
  CHECK(apiretry_retrier_new(s3, 8, 100, NULL, &quick) == APIRETRY_RESULT_OK);
  CHECK(apiretry_call_new(quick, NULL, &call) == APIRETRY_RESULT_OK);
  d = decide(call, 503, NULL, &kind);
  CHECK(d.action == APIRETRY_ACTION_STOP && d.stop_reason == APIRETRY_STOP_REASON_DEADLINE);
  apiretry_call_free(call);
  apiretry_cancel *cancel = NULL;
  CHECK(apiretry_cancel_new(&cancel) == APIRETRY_RESULT_OK);
  CHECK(apiretry_call_new(r, cancel, &call) == APIRETRY_RESULT_OK);
  CHECK(apiretry_cancel_cancel(cancel) == APIRETRY_RESULT_OK);
  CHECK(decide(call, 503, NULL, &kind).action == APIRETRY_ACTION_CANCELLED);
  apiretry_call_free(call);
  apiretry_cancel_free(cancel);

  /* Transport classification alone, and bad arguments. */
  CHECK(apiretry_classify_transport(APIRETRY_TRANSPORT_DNS, NULL, &c) == APIRETRY_RESULT_OK);
  CHECK(apiretry_classification_kind(c, &kind) == APIRETRY_RESULT_OK && kind == APIRETRY_KIND_DNS);
  apiretry_classification_free(c);
  CHECK(apiretry_classify_transport(1000, NULL, &c) == APIRETRY_RESULT_INVALID_ARGUMENT && c == NULL);
  CHECK(apiretry_classify_transport(0, NULL, NULL) == APIRETRY_RESULT_NULL_POINTER);
  apiretry_retrier *none = NULL;
  CHECK(apiretry_retrier_new(NULL, 4, 0, NULL, &none) == APIRETRY_RESULT_NULL_POINTER && none == NULL);
  CHECK(apiretry_retrier_new(s3, 0, 0, NULL, &none) == APIRETRY_RESULT_INVALID_ARGUMENT && none == NULL);
  CHECK(apiretry_retrier_new(s3, 4, 0, NULL, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_retrier_set_budget(r, 5000, 0.1) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_retrier_set_budget(r, 10, 0.1) == APIRETRY_RESULT_OK);
  CHECK(apiretry_retrier_set_budget(NULL, 10, 0.1) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_call_new(NULL, NULL, &call) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_call_new(r, NULL, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_call_new(r, NULL, &call) == APIRETRY_RESULT_OK);
  CHECK(apiretry_call_on_response(call, 0, NULL, 0, NULL, 0, -1, &d, NULL) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_call_on_response(call, 503, NULL, 0, NULL, 0, -1, NULL, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_call_on_response(NULL, 503, NULL, 0, NULL, 0, -1, &d, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_call_on_transport_error(NULL, 0, NULL, &d, NULL) == APIRETRY_RESULT_NULL_POINTER);
  apiretry_call_free(call);
  apiretry_call_free(NULL);
  apiretry_retrier_free(NULL);
  apiretry_retrier_free(r);
  apiretry_retrier_free(two);
  apiretry_retrier_free(paused);
  apiretry_retrier_free(quick);
  apiretry_profile_free(s3);
  apiretry_profile_free(c2c);
}

/* An upload from memory: read and rewind callbacks. */
struct source {
  const uint8_t *data;
  size_t len, pos;
  int rewinds;
};

static uint32_t source_read(void *user_data, uint8_t *buf, size_t len, size_t *out_n) {
  struct source *s = user_data;
  size_t n = s->len - s->pos < len ? s->len - s->pos : len;
  memcpy(buf, s->data + s->pos, n);
  s->pos += n;
  *out_n = n;
  return 0;
}

static uint32_t source_rewind(void *user_data) {
  struct source *s = user_data;
  s->pos = 0;
  s->rewinds++;
  return 0;
}

/* A download into memory: write and rewind callbacks. */
struct sink {
  uint8_t data[32768];
  size_t len;
  int rewinds, fail;
};

static uint32_t sink_write(void *user_data, const uint8_t *data, size_t len) {
  struct sink *s = user_data;
  if (s->fail || s->len + len > sizeof s->data) return 28; /* ENOSPC */
  memcpy(s->data + s->len, data, len);
  s->len += len;
  return 0;
}

static uint32_t sink_rewind(void *user_data) {
  struct sink *s = user_data;
  s->len = 0;
  s->rewinds++;
  return 0;
}

/* Sends REQ through CLIENT; returns the status, or the failure's kind + 1000. */
static int send_request(apiretry_client *client, apiretry_request *req) {
  apiretry_response *resp = NULL;
  apiretry_classification *err = NULL;
  int outcome;
  if (apiretry_client_send(client, req, NULL, &resp, &err) == APIRETRY_RESULT_OK) {
    uint16_t status = 0;
    CHECK(apiretry_response_status(resp, &status) == APIRETRY_RESULT_OK);
    outcome = status;
  } else {
    apiretry_kind kind = 0;
    CHECK(apiretry_classification_kind(err, &kind) == APIRETRY_RESULT_OK);
    outcome = 1000 + (int)kind;
  }
  apiretry_response_free(resp);
  apiretry_classification_free(err);
  return outcome;
}

/* Streamed uploads and downloads, and a request's own policy (issue 12,
 * items 2 and 3); the server side checks the bytes (tests/c_api.rs). */
/* Progress reports: their count, attempts restarted, the last one. */
struct progress_log {
  int reports, restarts;
  apiretry_progress last;
};

static void on_progress(void *user_data, const apiretry_progress *p) {
  struct progress_log *log = user_data;
  if (log->reports > 0 && (p->sent < log->last.sent || p->received < log->last.received)) log->restarts++;
  log->reports++;
  log->last = *p;
}

static void test_streams(const char *url) {
  apiretry_client *client = make_client_budget(url, true);
  apiretry_request *req = NULL;
  static uint8_t chunk[40000];
  for (size_t i = 0; i < sizeof chunk; i++) chunk[i] = (uint8_t)(i * 7 % 251);

  /* From memory, through a 500: rewound before each of the 2 attempts. */
  struct source src = {chunk, sizeof chunk, 0, 0};
  struct progress_log up = {0, 0, {0, 0, 0, 0}};
  CHECK(apiretry_request_new("PUT", "/stream/1", &req) == APIRETRY_RESULT_OK);
  CHECK(apiretry_request_set_body_reader(req, sizeof chunk, source_read, source_rewind, &src) ==
        APIRETRY_RESULT_OK);
  CHECK(apiretry_request_set_progress_callback(req, on_progress, &up) == APIRETRY_RESULT_OK);
  CHECK(apiretry_request_set_progress_callback(req, NULL, &up) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(send_request(client, req) == 200 && src.rewinds == 2);
  /* Two attempts, each from zero to the whole chunk. */
  CHECK(up.reports >= 2 && up.restarts == 1);
  CHECK(up.last.sent == sizeof chunk && up.last.send_total == sizeof chunk);
  apiretry_request_free(req);

  /* A range of a file, then the rest of it (length unknown: to the end). */
  char path[] = "/tmp/apiretry-harness-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0 && write(fd, chunk, sizeof chunk) == (ssize_t)sizeof chunk);
  close(fd);
  CHECK(apiretry_request_new("PUT", "/stream/2", &req) == APIRETRY_RESULT_OK);
  CHECK(apiretry_request_set_body_file(req, path, 1000, 5000) == APIRETRY_RESULT_OK);
  CHECK(send_request(client, req) == 200);
  CHECK(apiretry_request_set_body_file(req, path, 30000, APIRETRY_LENGTH_UNKNOWN) == APIRETRY_RESULT_OK);
  CHECK(send_request(client, req) == 200);
  /* The file shrank under the request: an io failure, not a network one. */
  CHECK(truncate(path, 100) == 0);
  CHECK(send_request(client, req) == 1000 + APIRETRY_KIND_IO);
  apiretry_request_free(req);
  unlink(path);
  CHECK(apiretry_request_new("PUT", "/stream/3", &req) == APIRETRY_RESULT_OK);
  CHECK(apiretry_request_set_body_file(req, path, 0, APIRETRY_LENGTH_UNKNOWN) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_request_set_body_file(req, path, 0, 10) == APIRETRY_RESULT_OK);
  CHECK(send_request(client, req) == 1000 + APIRETRY_KIND_IO);
  apiretry_request_free(req);

  /* A download cut off midway is written again from its start. */
  static struct sink sink;
  struct progress_log down = {0, 0, {0, 0, 0, 0}};
  CHECK(apiretry_request_new("GET", "/download", &req) == APIRETRY_RESULT_OK);
  CHECK(apiretry_request_set_response_writer(req, sink_write, sink_rewind, &sink) == APIRETRY_RESULT_OK);
  CHECK(apiretry_request_set_progress_callback(req, on_progress, &down) == APIRETRY_RESULT_OK);
  CHECK(send_request(client, req) == 200);
  CHECK(sink.rewinds == 2 && sink.len == 20000);
  CHECK(down.last.received == 20000 && down.last.receive_total == 20000 && down.last.send_total == 0);
  int pattern = 1;
  for (size_t i = 0; i < sink.len; i++) pattern &= sink.data[i] == (uint8_t)('a' + i % 26);
  CHECK(pattern);
  sink.fail = 1; /* a full disk: io, and not retried as the network */
  CHECK(send_request(client, req) == 1000 + APIRETRY_KIND_IO);
  apiretry_request_free(req);

  /* The client allows 4 attempts; this request 2, then unavailable not at all. */
  int before = atomic_load(&events);
  CHECK(apiretry_request_new("GET", "/unavailable", &req) == APIRETRY_RESULT_OK);
  CHECK(apiretry_request_set_policy(req, 2, 0, NULL) == APIRETRY_RESULT_OK);
  CHECK(send_request(client, req) == 1000 + APIRETRY_KIND_UNAVAILABLE);
  CHECK(atomic_load(&events) - before == 2);
  before = atomic_load(&events);
  CHECK(apiretry_request_set_retry(req, APIRETRY_KIND_UNAVAILABLE, APIRETRY_RETRY_NO) == APIRETRY_RESULT_OK);
  CHECK(send_request(client, req) == 1000 + APIRETRY_KIND_UNAVAILABLE);
  CHECK(atomic_load(&events) - before == 1);
  apiretry_request_free(req);
  apiretry_client_free(client);
}

static atomic_int rate_cuts = 0;

static void on_rate(void *user_data, const char *origin, double rate) {
  (void)user_data;
  if (strncmp(origin, "http://127.0.0.1:", 17) == 0 && rate > 0) atomic_fetch_add(&rate_cuts, 1);
}

/* A throttled origin's learned rate (issue 9): absent before, a rate after,
 * and each cut told to the rate callback. */
static void test_learned_rate(const char *url) {
  apiretry_client_builder *rb = NULL;
  apiretry_client *client = NULL;
  CHECK(apiretry_client_builder_new(url, &rb) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_rate_callback(rb, on_rate, NULL) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_rate_callback(rb, NULL, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_builder_set_rate_callback(NULL, on_rate, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_builder_set_budget(rb, 0, 0) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_build(rb, &client) == APIRETRY_RESULT_OK);
  double rate = -1;
  CHECK(apiretry_client_learned_rate(client, "/throttled", &rate) == APIRETRY_RESULT_ABSENT && rate == -1);
  CHECK(send(client, "GET", "/throttled", 200, NULL) == 200);
  CHECK(apiretry_client_learned_rate(client, "/throttled", &rate) == APIRETRY_RESULT_OK && rate > 0);
  CHECK(atomic_load(&rate_cuts) == 1);
  CHECK(apiretry_client_learned_rate(NULL, "/", &rate) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_learned_rate(client, NULL, &rate) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_learned_rate(client, BAD_UTF8, &rate) == APIRETRY_RESULT_INVALID_UTF8);
  CHECK(apiretry_client_learned_rate(client, "/", NULL) == APIRETRY_RESULT_NULL_POINTER);
  apiretry_client_free(client);

  apiretry_client_builder *b = NULL;
  CHECK(apiretry_client_builder_new(url, &b) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_adaptive_rate(b, true, -1, 0) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_client_builder_set_adaptive_rate(b, true, NAN, 0) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_client_builder_set_adaptive_rate(b, true, 10, 5) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_client_builder_set_adaptive_rate(NULL, true, 0, 0) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_builder_set_adaptive_rate(b, true, 0.1, 20) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_adaptive_rate(b, false, 0, 0) == APIRETRY_RESULT_OK);
  apiretry_client_builder_free(b);
}

/* A program's own HTTP stack learning a rate, on given times (ms). */
static void test_rate_learner(void) {
  apiretry_rate_learner *l = NULL;
  CHECK(apiretry_rate_learner_new(-1, 0, &l) == APIRETRY_RESULT_INVALID_ARGUMENT && l == NULL);
  CHECK(apiretry_rate_learner_new(NAN, 0, &l) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_rate_learner_new(10, 5, &l) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_rate_learner_new(0, 0, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_rate_learner_new(0, 0, &l) == APIRETRY_RESULT_OK && l != NULL);
  double rate = -1, cut = -1;
  CHECK(apiretry_rate_learner_rate(l, &rate) == APIRETRY_RESULT_ABSENT && rate == -1);
  /* 10 answers a second, accepted: nothing learned, nothing cut. */
  for (uint64_t i = 0; i < 10; i++) {
    CHECK(apiretry_rate_learner_on_answer(l, i * 100, i * 100 + 20, false, &cut) == APIRETRY_RESULT_OK);
    CHECK(cut == 0);
  }
  CHECK(apiretry_rate_learner_rate(l, &rate) == APIRETRY_RESULT_ABSENT);
  /* A throttle cuts below what was sent. */
  CHECK(apiretry_rate_learner_on_answer(l, 1000, 1020, true, &cut) == APIRETRY_RESULT_OK);
  CHECK(cut > 0 && cut < 10);
  CHECK(apiretry_rate_learner_rate(l, &rate) == APIRETRY_RESULT_OK && rate == cut);
  CHECK(apiretry_rate_learner_on_answer(l, 1100, 1120, false, NULL) == APIRETRY_RESULT_OK);
  apiretry_rate_learner_free(l);

  /* Retry-After: 3, then one acceptance per 3 s: the pace, 1/3 a second. */
  CHECK(apiretry_rate_learner_new(0, 0, &l) == APIRETRY_RESULT_OK);
  CHECK(apiretry_rate_learner_on_answer(l, 0, 0, true, NULL) == APIRETRY_RESULT_OK);
  CHECK(apiretry_rate_learner_on_retry_after(l, 0, 3000) == APIRETRY_RESULT_OK);
  for (uint64_t t = 3000; t <= 9000; t += 3000) {
    CHECK(apiretry_rate_learner_on_answer(l, t, t, false, NULL) == APIRETRY_RESULT_OK);
  }
  CHECK(apiretry_rate_learner_rate(l, &rate) == APIRETRY_RESULT_OK && fabs(rate - 1.0 / 3.0) < 1e-9);
  CHECK(apiretry_rate_learner_rate(l, NULL) == APIRETRY_RESULT_NULL_POINTER);
  apiretry_rate_learner_free(l);

  CHECK(apiretry_rate_learner_on_answer(NULL, 0, 0, true, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_rate_learner_on_retry_after(NULL, 0, 3000) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_rate_learner_rate(NULL, &rate) == APIRETRY_RESULT_NULL_POINTER);
  apiretry_rate_learner_free(NULL);
}

static void test_stream_bad_arguments(void) {
  apiretry_request *req = NULL;
  struct source src = {NULL, 0, 0, 0};
  CHECK(apiretry_request_new("PUT", "/x", &req) == APIRETRY_RESULT_OK);
  CHECK(apiretry_request_set_body_reader(req, 1, NULL, source_rewind, &src) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_request_set_body_reader(req, 1, source_read, NULL, &src) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_request_set_body_reader(NULL, 1, source_read, source_rewind, &src) ==
        APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_request_set_body_file(req, NULL, 0, 1) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_request_set_body_file(req, BAD_UTF8, 0, 1) == APIRETRY_RESULT_INVALID_UTF8);
  CHECK(apiretry_request_set_body_file(NULL, "/tmp/x", 0, 1) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_request_set_response_writer(req, NULL, sink_rewind, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_request_set_response_writer(req, sink_write, NULL, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_request_set_response_writer(NULL, sink_write, sink_rewind, NULL) ==
        APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_request_set_policy(req, 0, 0, NULL) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_request_set_policy(NULL, 2, 0, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_request_set_retry(req, 9999, APIRETRY_RETRY_NO) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_request_set_retry(req, APIRETRY_KIND_TIMEOUT, 7) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_request_set_retry(NULL, APIRETRY_KIND_TIMEOUT, APIRETRY_RETRY_NO) ==
        APIRETRY_RESULT_NULL_POINTER);
  apiretry_request_free(req);
}

static atomic_int log_records = 0;
static atomic_int log_warnings = 0;
static atomic_int log_secrets = 0;

static void on_log(void *user_data, uint32_t level, const char *target, const char *message) {
  (void)user_data;
  atomic_fetch_add(&log_records, 1);
  if (level <= APIRETRY_LOG_LEVEL_WARN && strncmp(target, "apiretry", 8) == 0) atomic_fetch_add(&log_warnings, 1);
  if (strstr(message, "-token") != NULL) atomic_fetch_add(&log_secrets, 1);
}

/* The version the header names is the library's; logs reach C, tokens never. */
static void test_version_and_log(void) {
  CHECK(apiretry_version_number() == APIRETRY_VERSION_NUMBER);
  CHECK(strcmp(apiretry_version(), APIRETRY_VERSION) == 0);
  CHECK(APIRETRY_VERSION_NUMBER ==
        APIRETRY_VERSION_MAJOR * 1000000 + APIRETRY_VERSION_MINOR * 1000 + APIRETRY_VERSION_PATCH);
  CHECK(apiretry_set_log_callback(on_log, 6, NULL) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_set_log_callback(on_log, APIRETRY_LOG_LEVEL_TRACE, NULL) == APIRETRY_RESULT_OK);
}

static void check_logs(void) {
  CHECK(apiretry_set_log_callback(NULL, APIRETRY_LOG_LEVEL_OFF, NULL) == APIRETRY_RESULT_OK);
  int seen = atomic_load(&log_records);
  CHECK(seen > 0 && atomic_load(&log_warnings) > 0 && atomic_load(&log_secrets) == 0);
  apiretry_client *client = make_client("http://127.0.0.1:1");
  CHECK(send(client, "GET", "/ok", 200, NULL) == 1000 + APIRETRY_KIND_CONNECTION);
  apiretry_client_free(client);
  CHECK(atomic_load(&log_records) == seen); /* off: nothing more */
}

static void test_client_bad_arguments(void) {
  apiretry_client_builder *b = NULL;
  apiretry_client_builder *b2 = NULL;
  apiretry_client *client = NULL;
  apiretry_request *req = NULL;
  apiretry_response *resp = NULL;
  apiretry_classification *err = NULL;
  apiretry_cancel *cancel = NULL;
  uint16_t status;
  char buf[16];
  size_t n;
  const uint8_t *body;

  CHECK(apiretry_client_builder_new(NULL, &b) == APIRETRY_RESULT_NULL_POINTER && b == NULL);
  CHECK(apiretry_client_builder_new(BAD_UTF8, &b) == APIRETRY_RESULT_INVALID_UTF8);
  CHECK(apiretry_client_builder_new("ftp://x", &b) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_client_builder_new("http://127.0.0.1:1", NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_builder_new("http://127.0.0.1:1", &b) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_profile(b, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_builder_set_profile(NULL, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_builder_set_policy(b, 0, 0, NULL) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_client_builder_set_policy(NULL, 3, 0, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_builder_set_timeouts(b, 0, 1, 1) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_client_builder_set_rate_limit(b, 5, 0) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_client_builder_set_token(b, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_builder_set_token(b, BAD_UTF8) == APIRETRY_RESULT_INVALID_UTF8);
  CHECK(apiretry_client_builder_set_token(b, "tok\r\nX: y") == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_client_builder_set_health_path(b, "/a b") == APIRETRY_RESULT_INVALID_ARGUMENT);
  /* A congestion control the kernel refuses: the reason, the setting kept. */
  CHECK(apiretry_client_builder_set_upload_congestion(b, "no-such-algo", &err) == APIRETRY_RESULT_API_FAILURE);
  CHECK(apiretry_classification_message(err, buf, sizeof buf, &n) == APIRETRY_RESULT_BUFFER_TOO_SMALL && n > 40);
  apiretry_classification_free(err);
  err = NULL;
  CHECK(apiretry_client_builder_set_upload_congestion(b, BAD_UTF8, NULL) == APIRETRY_RESULT_INVALID_UTF8);
  CHECK(apiretry_client_builder_set_upload_congestion(NULL, NULL, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_builder_set_upload_congestion(b, NULL, NULL) == APIRETRY_RESULT_OK); /* the system's */
  CHECK(apiretry_client_builder_set_max_upload_rate(NULL, 1) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_builder_set_max_upload_rate(b, 2500000) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_max_upload_rate(b, 0) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_new("http://host\n", &b2) == APIRETRY_RESULT_INVALID_ARGUMENT && b2 == NULL);
  CHECK(apiretry_client_builder_set_health_path(b, BAD_UTF8) == APIRETRY_RESULT_INVALID_UTF8);
  CHECK(apiretry_client_builder_set_refresh_callback(b, NULL, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_builder_set_event_callback(b, NULL, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_builder_set_state_callback(b, NULL, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_builder_build(NULL, &client) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_builder_build(b, NULL) == APIRETRY_RESULT_NULL_POINTER); /* consumes b */
  apiretry_client_builder_free(NULL);
  CHECK(apiretry_client_builder_new("http://127.0.0.1:1", &b) == APIRETRY_RESULT_OK);
  apiretry_client_builder_free(b);

  CHECK(apiretry_request_new(NULL, "/", &req) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_request_new(BAD_UTF8, "/", &req) == APIRETRY_RESULT_INVALID_UTF8 && req == NULL);
  CHECK(apiretry_request_new("GET", BAD_UTF8, &req) == APIRETRY_RESULT_INVALID_UTF8);
  CHECK(apiretry_request_new("G ET", "/", &req) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_request_new("GET", "", &req) == APIRETRY_RESULT_INVALID_ARGUMENT && req == NULL);
  CHECK(apiretry_request_new("GET", "/a b", &req) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_request_new("GET", "/a\r\nHost: evil", &req) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_request_new("GET", "/", &req) == APIRETRY_RESULT_OK);
  CHECK(apiretry_request_add_header(req, "X", NULL) == APIRETRY_RESULT_NULL_POINTER);
  /* Refused at the call, not at send time (issue 12, item 5). */
  const char *bad_names[] = {"", "X:Y", "X Y", "X\r\nY", "Ä"};
  for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
    CHECK(apiretry_request_add_header(req, bad_names[i], "v") == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_request_add_header(req, "X", "a\r\nInjected: yes") == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_request_add_header(req, "X", "a\nb") == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_request_add_header(req, "X-Tabbed", "a\tb") == APIRETRY_RESULT_OK);
  CHECK(apiretry_request_add_header(req, "X-Token_1.ok", "v") == APIRETRY_RESULT_OK);
  CHECK(apiretry_request_add_header(req, BAD_UTF8, "v") == APIRETRY_RESULT_INVALID_UTF8);
  CHECK(apiretry_request_add_header(NULL, "X", "v") == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_request_set_body(req, NULL, 3) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_request_set_body(req, NULL, 0) == APIRETRY_RESULT_OK);
  CHECK(apiretry_request_set_expect(req, 42) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_request_set_class(req, 9) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_request_set_profile(req, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_request_set_unauthorized(NULL, true) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_send(NULL, req, NULL, &resp, &err) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_send(NULL, NULL, NULL, NULL, &err) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_set_token(NULL, "x") == APIRETRY_RESULT_NULL_POINTER);
  apiretry_request_free(req);
  apiretry_request_free(NULL);

  CHECK(apiretry_response_status(NULL, &status) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_response_header(NULL, "x", buf, sizeof buf, &n) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_response_body(NULL, &body, &n) == APIRETRY_RESULT_NULL_POINTER);
  apiretry_response_free(NULL);
  CHECK(apiretry_cancel_new(NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_cancel_cancel(NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_cancel_new(&cancel) == APIRETRY_RESULT_OK);
  apiretry_cancel_free(cancel);
  apiretry_cancel_free(NULL);
  apiretry_client_free(NULL);
}

int main(void) {
  test_version_and_log();
  test_result_messages();
  test_profiles();
  test_classify();
  test_backoff();
  test_client_bad_arguments();
  test_decisions();
  test_stream_bad_arguments();
  test_rate_learner();
  const char *url = getenv("APIRETRY_MOCK_URL");
  if (url != NULL) {
    test_client(url);
    test_calls_end(url);
    test_safety(url);
    test_budget(url);
    test_fleet_safe(url);
    test_stall(url);
    test_streams(url);
    test_learned_rate(url);
    check_logs();
  } else {
    fprintf(stderr, "APIRETRY_MOCK_URL not set: client tests skipped\n");
  }
  const char *tls_url = getenv("APIRETRY_MOCK_TLS_URL");
  const char *ca_file = getenv("APIRETRY_MOCK_CA_FILE");
  if (tls_url != NULL && ca_file != NULL) {
    test_tls(tls_url, ca_file);
  } else {
    fprintf(stderr, "APIRETRY_MOCK_TLS_URL not set: TLS tests skipped\n");
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
