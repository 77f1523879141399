/*
 * Many threads on one client at once: sends through the gates and the rate
 * limiter, retries with backoff, cancellations from other threads, new
 * tokens while calls are in flight, a refresh callback, and every callback
 * kind. Built against the library with ThreadSanitizer by .ci/tsan, which
 * serves examples-c/stress.scenario.json with `apiretry serve`.
 *
 *   stress BASE_URL
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "apiretry.h"

#define THREADS 16
#define CALLS 20

static atomic_int events, states, refreshes, sent_ok, failed_calls, cancelled;
static apiretry_client *client;

static void on_event(void *ud, const apiretry_event *e) {
  (void)ud;
  (void)e;
  atomic_fetch_add(&events, 1);
}

static void on_state(void *ud, uint32_t state) {
  (void)ud;
  (void)state;
  atomic_fetch_add(&states, 1);
}

static uint32_t refresh(void *ud, char *buf, size_t len, size_t *out_n) {
  (void)ud;
  static const char token[] = "fresh-token";
  atomic_fetch_add(&refreshes, 1);
  *out_n = sizeof token - 1;
  if (len < sizeof token - 1) return APIRETRY_RESULT_BUFFER_TOO_SMALL;
  memcpy(buf, token, sizeof token - 1);
  return APIRETRY_RESULT_OK;
}

static void *worker(void *arg) {
  long id = (long)arg;
  for (int i = 0; i < CALLS; i++) {
    const char *path = (i + id) % 3 == 0 ? "/flaky" : (i % 2 ? "/ok" : "/secure");
    apiretry_request *req = NULL;
    apiretry_response *resp = NULL;
    apiretry_classification *err = NULL;
    apiretry_cancel *cancel = NULL;
    apiretry_request_new("GET", path, &req);
    apiretry_request_set_expect(req, 200);
    apiretry_cancel_new(&cancel);
    if (i % 7 == 3) apiretry_cancel_cancel(cancel); /* cancelled before it starts */
    if (i % 5 == 0) apiretry_client_set_token(client, id % 2 ? "token-a" : "token-b");
    apiretry_result r = apiretry_client_send(client, req, cancel, &resp, &err);
    if (r == APIRETRY_RESULT_OK) {
      atomic_fetch_add(&sent_ok, 1);
    } else {
      apiretry_kind kind = 0;
      apiretry_classification_kind(err, &kind);
      if (kind == APIRETRY_KIND_CANCELLED) atomic_fetch_add(&cancelled, 1);
      else atomic_fetch_add(&failed_calls, 1);
    }
    apiretry_response_free(resp);
    apiretry_classification_free(err);
    apiretry_cancel_free(cancel);
    apiretry_request_free(req);
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) return fprintf(stderr, "usage: %s BASE_URL\n", argv[0]), 2;
  apiretry_client_builder *b = NULL;
  apiretry_backoff_config backoff;
  apiretry_backoff_default(&backoff);
  backoff.base_ms = 5;
  backoff.cap_ms = 40;
  apiretry_client_builder_new(argv[1], &b);
  apiretry_client_builder_set_policy(b, 6, 0, &backoff);
  apiretry_client_builder_set_token(b, "token-a");
  apiretry_client_builder_set_refresh_callback(b, refresh, NULL);
  apiretry_client_builder_set_event_callback(b, on_event, NULL);
  apiretry_client_builder_set_state_callback(b, on_state, NULL);
  apiretry_client_builder_add_header(b, "x-client-version", "2.0.0");
  if (apiretry_client_builder_build(b, &client) != APIRETRY_RESULT_OK) return 1;

  pthread_t threads[THREADS];
  for (long i = 0; i < THREADS; i++) pthread_create(&threads[i], NULL, worker, (void *)i);
  for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
  apiretry_client_free(client);

  int total = sent_ok + failed_calls + cancelled;
  printf("stress: %d calls (%d ok, %d failed, %d cancelled), %d events, %d refreshes\n", total,
         (int)sent_ok, (int)failed_calls, (int)cancelled, (int)events, (int)refreshes);
  return total == THREADS * CALLS && sent_ok > 0 && cancelled > 0 && refreshes > 0 ? 0 : 1;
}
