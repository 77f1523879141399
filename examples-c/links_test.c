/*
 * The link-change hint through the C API, against the mock (run under
 * valgrind from tests/c_api.rs with APIRETRY_MOCK_URL), in step with the
 * Rust side over stdin and stdout: the server resets every connection, a
 * call waits at the closed gate (DISCONNECTED) and this prints "held"; the
 * Rust side waits 2.5 s, brings the server back and writes "back"; the
 * hint (apiretry_client_network_changed) lets the call through within
 * 0.5 s, though no probe of the default backoff is due then (they come
 * 0.5-0.75, 1.5-2.25 and 3.5-5.25 s after the gate closed).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apiretry.h"
#include "check.h"

static atomic_int disconnected = 0, connected = 0;

static void on_state(void *user_data, uint32_t state) {
  (void)user_data;
  if (state == APIRETRY_CLIENT_STATE_DISCONNECTED) atomic_fetch_add(&disconnected, 1);
  if (state == APIRETRY_CLIENT_STATE_CONNECTED) atomic_fetch_add(&connected, 1);
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double done_at = 0;

static void *call(void *client) {
  static int status;
  apiretry_request *req = NULL;
  apiretry_response *resp = NULL;
  CHECK(apiretry_request_new("GET", "/x", &req) == APIRETRY_RESULT_OK);
  if (apiretry_client_send(client, req, NULL, &resp, NULL) == APIRETRY_RESULT_OK) {
    uint16_t s = 0;
    CHECK(apiretry_response_status(resp, &s) == APIRETRY_RESULT_OK);
    status = s;
  }
  done_at = now_s();
  apiretry_response_free(resp);
  apiretry_request_free(req);
  return &status;
}

int main(void) {
  const char *url = getenv("APIRETRY_MOCK_URL");
  if (url == NULL) {
    fprintf(stderr, "APIRETRY_MOCK_URL not set: skipped\n");
    return 1;
  }
  apiretry_client_builder *b = NULL;
  apiretry_client *client = NULL;
  CHECK(apiretry_client_builder_new(url, &b) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_set_state_callback(b, on_state, NULL) == APIRETRY_RESULT_OK);
  CHECK(apiretry_client_builder_build(b, &client) == APIRETRY_RESULT_OK);

  pthread_t caller;
  pthread_create(&caller, NULL, call, client);
  for (int i = 0; i < 1000 && atomic_load(&disconnected) == 0; i++) usleep(10 * 1000);
  CHECK(atomic_load(&disconnected) == 1);
  printf("held\n");
  fflush(stdout);
  char line[16] = {0};
  CHECK(fgets(line, sizeof line, stdin) != NULL && strncmp(line, "back", 4) == 0);
  double hinted = now_s();
  CHECK(apiretry_client_network_changed(client) == APIRETRY_RESULT_OK);
  int *status = NULL;
  pthread_join(caller, (void **)&status);
  CHECK(status != NULL && *status == 200);
  CHECK(atomic_load(&connected) == 1);
  printf("through %.0f ms after the hint\n", (done_at - hinted) * 1000);
  CHECK(done_at - hinted <= 0.5);
  apiretry_client_free(client);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
