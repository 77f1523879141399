/*
 * The overload gate through the C API, against the mock (run under
 * valgrind from tests/c_api.rs with APIRETRY_MOCK_URL): a route that
 * answers 503 four times closes the gate (OVERLOADED); a request set to not
 * wait fails at once as HELD_BACK without being sent; one that waits is
 * held (an APIRETRY_STEP_HELD event) until a trial is accepted (RECOVERED).
 * The state callbacks and events are counted against the results, and the
 * attempts are printed for the Rust side to hold against the server's log.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apiretry.h"
#include "check.h"

static atomic_int states[8];
static atomic_int n_states = 0;
static atomic_int attempts = 0, held = 0, held_back = 0;

static void on_state(void *user_data, uint32_t state) {
  (void)user_data;
  int i = atomic_fetch_add(&n_states, 1);
  if (i < 8) atomic_store(&states[i], (int)state);
}

static void on_event(void *user_data, const apiretry_event *e) {
  (void)user_data;
  if (e->step == APIRETRY_STEP_HELD) {
    atomic_fetch_add(&held, 1);
    return;
  }
  if (e->failed && e->kind == APIRETRY_KIND_HELD_BACK) {
    CHECK(e->step == APIRETRY_STEP_GIVE_UP && e->status == -1);
    atomic_fetch_add(&held_back, 1);
    return; /* not sent: not an attempt */
  }
  atomic_fetch_add(&attempts, 1);
}

/* Sends GET PATH; returns the status, or the failure's kind + 1000. */
static int get(apiretry_client *client, const char *path, bool wait) {
  apiretry_request *req = NULL;
  apiretry_response *resp = NULL;
  apiretry_classification *err = NULL;
  int outcome = -1;
  CHECK(apiretry_request_new("GET", path, &req) == APIRETRY_RESULT_OK);
  if (!wait) CHECK(apiretry_request_set_without_waiting(req) == APIRETRY_RESULT_OK);
  apiretry_result r = apiretry_client_send(client, req, NULL, &resp, &err);
  if (r == APIRETRY_RESULT_OK) {
    uint16_t status = 0;
    CHECK(apiretry_response_status(resp, &status) == APIRETRY_RESULT_OK);
    outcome = status;
  } else if (err != NULL) {
    apiretry_kind kind = 0;
    CHECK(apiretry_classification_kind(err, &kind) == APIRETRY_RESULT_OK);
    outcome = 1000 + (int)kind;
  }
  apiretry_response_free(resp);
  apiretry_classification_free(err);
  apiretry_request_free(req);
  return outcome;
}

static void *shed_call(void *client) {
  static int result;
  result = get(client, "/shed", true);
  return &result;
}

int main(void) {
  const char *url = getenv("APIRETRY_MOCK_URL");
  if (url == NULL) {
    fprintf(stderr, "APIRETRY_MOCK_URL not set: skipped\n");
    return 1;
  }
  apiretry_client_builder *b = NULL;
  apiretry_client *client = NULL;
  apiretry_backoff_config fast;
  CHECK(apiretry_backoff_default(&fast) == APIRETRY_RESULT_OK);
  fast.base_ms = 200;
  fast.cap_ms = 400;
  CHECK(apiretry_client_builder_new(url, &b) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_policy(b, 8, 0, &fast) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_budget(b, 0, 0) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_state_callback(b, on_state, NULL) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_event_callback(b, on_event, NULL) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_overload_control(NULL, true) == APIRETRY_RESULT_NULL_POINTER);
  CHECK(apiretry_client_builder_set_overload_control(b, true) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_build(b, &client) == APIRETRY_RESULT_OK);
  CHECK(apiretry_request_set_without_waiting(NULL) == APIRETRY_RESULT_NULL_POINTER);

  /* Refused at 0, 0.2 and 0.6 s: three refusals over 0.5 s close the gate. */
  pthread_t shedding;
  pthread_create(&shedding, NULL, shed_call, client);
  for (int i = 0; i < 500 && atomic_load(&n_states) == 0; i++) usleep(10 * 1000);
  CHECK(atomic_load(&n_states) == 1 && atomic_load(&states[0]) == APIRETRY_CLIENT_STATE_OVERLOADED);

  int sent_before = atomic_load(&attempts);
  CHECK(get(client, "/ok", false) == 1000 + APIRETRY_KIND_HELD_BACK);
  CHECK(atomic_load(&held_back) == 1);
  CHECK(atomic_load(&attempts) == sent_before); /* nothing was sent */

  /* This one waits, held, until a trial is accepted. */
  CHECK(get(client, "/ok", true) == 200);
  CHECK(atomic_load(&held) >= 1);

  int *shed_result = NULL;
  pthread_join(shedding, (void **)&shed_result);
  CHECK(shed_result != NULL && *shed_result == 200);
  CHECK(atomic_load(&n_states) == 2);
  CHECK(atomic_load(&states[1]) == APIRETRY_CLIENT_STATE_RECOVERED);
  apiretry_client_free(client);

  printf("overload attempts: %d\n", atomic_load(&attempts));
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
