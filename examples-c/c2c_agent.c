/*
 * A camera's Camera-to-Cloud agent: every clip given reaches Frame.io,
 * through a queue that survives power cycles (the state directory), with
 * the firmware's version on every call. Run under valgrind by
 * tests/c_api.rs against the mock's Frame.io device side:
 *
 *   c2c_agent BASE_URL STATE_DIR CLIP...
 */
#include <stdio.h>

#include "apiretry.h"

static void on_event(void *user_data, const apiretry_c2c_event *e) {
  static const char *states[] = {"queued", "recording", "uploading", "done", "dropped", "failed", "cancelled"};
  (void)user_data;
  if (e->bytes_done == 0 || e->state >= APIRETRY_C2C_DONE)
    printf("clip %llu: %s (%llu of %llu bytes)\n", (unsigned long long)e->id, states[e->state % 7],
           (unsigned long long)e->bytes_done, (unsigned long long)e->bytes_total);
}

int main(int argc, char **argv) {
  apiretry_client_builder *builder = NULL;
  apiretry_client *client = NULL;
  apiretry_profile *c2c = NULL;
  apiretry_c2c_uploader *uploader = NULL;
  bool idle = false;
  if (argc < 3 || apiretry_client_builder_new(argv[1], &builder) != APIRETRY_RESULT_OK) return 2;
  apiretry_profile_builtin("c2c", &c2c);
  apiretry_client_builder_set_profile(builder, c2c);
  apiretry_profile_free(c2c);
  apiretry_client_builder_add_header(builder, "x-client-version", "1.4.2");
  apiretry_client_builder_build(builder, &client);
  if (apiretry_c2c_uploader_new(client, argv[2], &uploader) == APIRETRY_RESULT_OK) {
    apiretry_c2c_uploader_set_event_callback(uploader, on_event, NULL);
    apiretry_c2c_uploader_start(uploader);
    for (int i = 3; i < argc; i++)
      if (apiretry_c2c_uploader_add(uploader, argv[i], "video/quicktime", 0, 0, NULL) != APIRETRY_RESULT_OK)
        fprintf(stderr, "%s: not queued (missing or unreadable)\n", argv[i]);
    apiretry_c2c_uploader_wait_idle(uploader, 120000, &idle);
  }
  apiretry_c2c_uploader_free(uploader);
  apiretry_client_free(client);
  printf("%s\n", idle ? "every clip is over" : "clips remain queued");
  return idle ? 0 : 1;
}
