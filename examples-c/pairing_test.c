/*
 * The pairing and token functions of the C API against the mock's RFC 8628
 * authorization server: pairing with store callbacks, loading them in a new
 * client, refresh on demand, cancelling a pairing from another thread, and
 * NULL or invalid arguments. Run (under valgrind) from tests/c_api.rs with
 * APIRETRY_MOCK_PAIR_URL (a server that approves at the second poll) and
 * APIRETRY_MOCK_PAIR_NEVER_URL (one whose user never answers).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apiretry.h"
#include "check.h"

static const char SECRET[] = "s&cr=t +%";
static const char BAD_UTF8[] = {'c', (char)0xff, '2', 0};

/* A token store in memory: what the save callback was given last. */
struct store {
  char json[8192];
  size_t len;
  int saves, loads;
  int fail_load; /* 0: as stored; 1: absent; 2: garbage */
};

static uint32_t load(void *ud, char *buf, size_t len, size_t *out_n) {
  struct store *s = ud;
  s->loads++;
  if (s->fail_load == 1 || s->len == 0) return APIRETRY_RESULT_ABSENT;
  const char *text = s->fail_load == 2 ? "{not json" : s->json;
  size_t n = s->fail_load == 2 ? strlen(text) : s->len;
  *out_n = n;
  if (n > len) return APIRETRY_RESULT_BUFFER_TOO_SMALL;
  memcpy(buf, text, n);
  return APIRETRY_RESULT_OK;
}

static uint32_t save(void *ud, const char *json, size_t len) {
  struct store *s = ud;
  if (len >= sizeof s->json || json[len] != 0) return 1;
  memcpy(s->json, json, len + 1);
  s->len = len;
  s->saves++;
  return 0;
}

struct seen {
  int codes, pending, paired;
  char user_code[64];
};

static void on_code(void *ud, const apiretry_user_code *c) {
  struct seen *s = ud;
  s->codes++;
  snprintf(s->user_code, sizeof s->user_code, "%s", c->user_code);
}

static void on_poll(void *ud, const apiretry_poll *p) {
  struct seen *s = ud;
  if (p->paired) s->paired++;
  if (!p->paired && p->kind == APIRETRY_KIND_AUTHORIZATION_PENDING && p->interval_ms == 1000) s->pending++;
}

static char url_buf[4][512];

static const char *url(int slot, const char *base, const char *path) {
  snprintf(url_buf[slot], sizeof url_buf[slot], "%s%s", base, path);
  return url_buf[slot];
}

static apiretry_client *client_of(const char *base, struct store *s) {
  apiretry_oauth *oauth = NULL;
  apiretry_client_builder *b = NULL;
  apiretry_client *c = NULL;
  CHECK(apiretry_oauth_new(url(0, base, "/v2/auth/token"), "camera", &oauth) == APIRETRY_RESULT_OK);
  CHECK(apiretry_oauth_set_client_auth(oauth, APIRETRY_CLIENT_AUTH_BASIC, SECRET) == APIRETRY_RESULT_OK);
  CHECK(apiretry_oauth_set_store_callbacks(oauth, load, save, s) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_new(base, &b) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_add_header(b, "x-client-version", "2.0.0") == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_oauth(b, oauth) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_build(b, &c) == APIRETRY_RESULT_OK);
  apiretry_oauth_free(oauth);
  return c;
}

static bool needs_pairing(apiretry_client *c) {
  bool needed = false;
  CHECK(apiretry_client_needs_pairing(c, &needed) == APIRETRY_RESULT_OK);
  return needed;
}

static void test_arguments(void) {
  apiretry_oauth *o = NULL;
  apiretry_pairing *p = NULL;
  CHECK(apiretry_oauth_new(NULL, "c", &o) == APIRETRY_RESULT_NULL_POINTER && o == NULL);
  CHECK(apiretry_oauth_new("ftp://x/t", "c", &o) == APIRETRY_RESULT_INVALID_ARGUMENT && o == NULL);
  CHECK(apiretry_oauth_new("http://x/t", BAD_UTF8, &o) == APIRETRY_RESULT_INVALID_UTF8 && o == NULL);
  CHECK(apiretry_oauth_new("http://x/t", "", &o) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_oauth_new("http://x/t", "c", NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_oauth_new("http://x/t", "c", &o) == APIRETRY_RESULT_OK && o != NULL);
  CHECK(apiretry_oauth_set_client_auth(o, APIRETRY_CLIENT_AUTH_FORM, NULL) == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_oauth_set_client_auth(o, APIRETRY_CLIENT_AUTH_PUBLIC, "s") == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_oauth_set_client_auth(o, 99, "s") == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_oauth_set_client_auth(NULL, APIRETRY_CLIENT_AUTH_FORM, "s") == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_oauth_set_file_store(o, "") == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_oauth_set_store_callbacks(o, NULL, save, NULL) == APIRETRY_RESULT_NULL_POINTER);
  apiretry_oauth_free(o);
  apiretry_oauth_free(NULL);
  CHECK(apiretry_pairing_new("not a url", &p) == APIRETRY_RESULT_INVALID_ARGUMENT && p == NULL);
  CHECK(apiretry_pairing_new("http://x/d", &p) == APIRETRY_RESULT_OK);
  CHECK(apiretry_pairing_set_scope(p, "a\nb") == APIRETRY_RESULT_INVALID_ARGUMENT);
  CHECK(apiretry_pairing_set_scope(NULL, "a") == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_pairing_set_limits(p, 2, 1000) == APIRETRY_RESULT_OK);
  CHECK(apiretry_pairing_set_callbacks(p, NULL, NULL, NULL) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_pair(NULL, p, NULL, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_refresh_tokens(NULL, NULL, NULL) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_needs_pairing(NULL, NULL) == APIRETRY_RESULT_NULL_POINTER);
  apiretry_pairing_free(p);
  apiretry_pairing_free(NULL);
}

/* Pairs with store callbacks, then a new client loads the store. */
static void test_pair_store_reload_refresh(const char *base) {
  struct store s = {0};
  struct seen seen = {0};
  apiretry_client *c = client_of(base, &s);
  CHECK(s.loads == 1 && needs_pairing(c));

  /* Calls needing authorization fail fast, saying pairing is needed. */
  apiretry_request *req = NULL;
  apiretry_response *resp = NULL;
  apiretry_classification *err = NULL;
  apiretry_kind kind = 0;
  char msg[512];
  size_t n = 0;
  apiretry_request_new("GET", "/v2/me", &req);
  apiretry_request_set_expect(req, 200);
  CHECK(apiretry_client_send(c, req, NULL, &resp, &err) == APIRETRY_RESULT_API_FAILURE);
  CHECK(apiretry_classification_kind(err, &kind) == APIRETRY_RESULT_OK && kind == APIRETRY_KIND_UNAUTHORIZED);
  CHECK(apiretry_classification_message(err, msg, sizeof msg, &n) == APIRETRY_RESULT_OK);
  CHECK(strstr(msg, "pairing needed") != NULL);
  apiretry_classification_free(err);
  err = NULL;

  apiretry_pairing *p = NULL;
  CHECK(apiretry_pairing_new(url(1, base, "/v2/auth/device/code"), &p) == APIRETRY_RESULT_OK);
  CHECK(apiretry_pairing_set_scope(p, "asset_create offline") == APIRETRY_RESULT_OK);
  CHECK(apiretry_pairing_set_callbacks(p, on_code, on_poll, &seen) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_pair(c, p, NULL, &err) == APIRETRY_RESULT_OK && err == NULL);
  CHECK(seen.codes == 1 && seen.pending == 1 && seen.paired == 1);
  CHECK(strncmp(seen.user_code, "WDJB-", 5) == 0);
  CHECK(!needs_pairing(c));
  CHECK(s.saves == 1 && strstr(s.json, "\"refresh_token\"") != NULL && strstr(s.json, "\"expires_at\"") != NULL);
  CHECK(apiretry_client_send(c, req, NULL, &resp, &err) == APIRETRY_RESULT_OK);
  apiretry_response_free(resp);
  resp = NULL;

  /* A restart: a new client from the store, no pairing. */
  apiretry_client_free(c);
  c = client_of(base, &s);
  CHECK(!needs_pairing(c));
  CHECK(apiretry_client_send(c, req, NULL, &resp, &err) == APIRETRY_RESULT_OK);
  apiretry_response_free(resp);
  resp = NULL;

  /* Refresh on demand: stored again, rotated. */
  char before[8192];
  memcpy(before, s.json, s.len + 1);
  CHECK(apiretry_client_refresh_tokens(c, NULL, &err) == APIRETRY_RESULT_OK && err == NULL);
  CHECK(s.saves == 2 && strcmp(before, s.json) != 0);
  CHECK(apiretry_client_send(c, req, NULL, &resp, &err) == APIRETRY_RESULT_OK);
  apiretry_response_free(resp);
  resp = NULL;
  apiretry_client_free(c);

  /* A spent refresh token (the one before the rotation): pairing needed. */
  memcpy(s.json, before, strlen(before) + 1);
  s.len = strlen(before);
  c = client_of(base, &s);
  CHECK(!needs_pairing(c));
  CHECK(apiretry_client_refresh_tokens(c, NULL, &err) == APIRETRY_RESULT_API_FAILURE && err != NULL);
  CHECK(apiretry_classification_kind(err, &kind) == APIRETRY_RESULT_OK && kind == APIRETRY_KIND_UNAUTHORIZED);
  apiretry_classification_free(err);
  err = NULL;
  CHECK(needs_pairing(c));
  CHECK(apiretry_client_refresh_tokens(c, NULL, NULL) == APIRETRY_RESULT_API_FAILURE);
  apiretry_client_free(c);

  /* A store that has nothing, or garbage: pairing needed. */
  for (int mode = 1; mode <= 2; mode++) {
    s.fail_load = mode;
    c = client_of(base, &s);
    CHECK(needs_pairing(c));
    apiretry_client_free(c);
  }
  apiretry_pairing_free(p);
  apiretry_request_free(req);
}

struct canceller {
  apiretry_cancel *cancel;
  struct seen *seen;
};

static void *cancel_when_shown(void *arg) {
  struct canceller *c = arg;
  while (__atomic_load_n(&c->seen->codes, __ATOMIC_SEQ_CST) == 0) usleep(10000);
  usleep(300000);
  apiretry_cancel_cancel(c->cancel);
  return NULL;
}

static void on_code_atomic(void *ud, const apiretry_user_code *c) {
  (void)c;
  __atomic_add_fetch(&((struct seen *)ud)->codes, 1, __ATOMIC_SEQ_CST);
}

/* The user never answers; another thread cancels while pairing polls. */
static void test_cancel_while_polling(const char *base) {
  struct store s = {0};
  struct seen seen = {0};
  apiretry_client *c = client_of(base, &s);
  apiretry_pairing *p = NULL;
  apiretry_cancel *cancel = NULL;
  apiretry_classification *err = NULL;
  apiretry_kind kind = 0;
  CHECK(apiretry_cancel_new(&cancel) == APIRETRY_RESULT_OK);
  CHECK(apiretry_pairing_new(url(2, base, "/v2/auth/device/code"), &p) == APIRETRY_RESULT_OK);
  CHECK(apiretry_pairing_set_callbacks(p, on_code_atomic, NULL, &seen) == APIRETRY_RESULT_OK);
  struct canceller arg = {cancel, &seen};
  pthread_t t;
  pthread_create(&t, NULL, cancel_when_shown, &arg);
  CHECK(apiretry_client_pair(c, p, cancel, &err) == APIRETRY_RESULT_API_FAILURE);
  pthread_join(t, NULL);
  CHECK(apiretry_classification_kind(err, &kind) == APIRETRY_RESULT_OK && kind == APIRETRY_KIND_CANCELLED);
  CHECK(needs_pairing(c) && s.saves == 0);
  apiretry_classification_free(err);
  apiretry_cancel_free(cancel);
  apiretry_pairing_free(p);
  apiretry_client_free(c);
}

int main(void) {
  const char *base = getenv("APIRETRY_MOCK_PAIR_URL");
  const char *never = getenv("APIRETRY_MOCK_PAIR_NEVER_URL");
  test_arguments();
  if (base != NULL && never != NULL) {
    test_pair_store_reload_refresh(base);
    test_cancel_while_polling(never);
  } else {
    printf("pairing tests skipped (no mock)\n");
  }
  printf("pairing: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
