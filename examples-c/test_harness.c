/*
 * Exercises every function of the C API: normal use, NULL and invalid UTF-8
 * arguments, small buffers. Built against the static and the shared library
 * by the Makefile and run (under valgrind) from `cargo test`.
 */
#include <stdio.h>
#include <string.h>

#include "apiretry.h"

static int passed = 0, failed = 0;

#define CHECK(cond)                                                       \
  do {                                                                    \
    if (cond) {                                                           \
      passed++;                                                           \
    } else {                                                              \
      failed++;                                                           \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                     \
  } while (0)

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
  CHECK(apiretry_result_message(APIRETRY_RESULT_OK, NULL, 0, &n) == APIRETRY_RESULT_NULL_POINTER && n == 2);
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
  CHECK(apiretry_classify(c2c, 500, bad_value, 1, NULL, 0, -1, &c) == APIRETRY_RESULT_INVALID_UTF8);
  CHECK(apiretry_classify(c2c, 500, NULL, 0, NULL, 10, -1, &c) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_classify(c2c, 200, NULL, 0, NULL, 0, 70000, &c) == APIRETRY_RESULT_INVALID_ARGUMENT);
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

int main(void) {
  test_result_messages();
  test_profiles();
  test_classify();
  test_backoff();
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
