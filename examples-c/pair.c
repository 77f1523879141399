/*
 * Pairs a camera once (RFC 8628), keeps its tokens in a file across
 * restarts, and creates an asset with them; the library refreshes the
 * tokens when they expire or are refused.
 *
 *   pair API_URL TOKEN_FILE
 */
#include <stdio.h>

#include "apiretry.h"

static void show(void *user_data, const apiretry_user_code *code) {
  (void)user_data;
  printf("To pair, enter %s at %s\n", code->user_code, code->verification_uri);
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc < 3) return fprintf(stderr, "usage: %s API_URL TOKEN_FILE\n", argv[0]), 2;
  char token_url[512], device_url[512];
  snprintf(token_url, sizeof token_url, "%s/v2/auth/token", argv[1]);
  snprintf(device_url, sizeof device_url, "%s/v2/auth/device/code", argv[1]);

  apiretry_oauth *oauth = NULL;
  apiretry_client_builder *builder = NULL;
  apiretry_client *client = NULL;
  apiretry_oauth_new(token_url, "camera", &oauth);
  apiretry_oauth_set_file_store(oauth, argv[2]);
  apiretry_client_builder_new(argv[1], &builder);
  apiretry_client_builder_add_header(builder, "x-client-version", "2.0.0");
  apiretry_client_builder_set_oauth(builder, oauth); /* loads the stored tokens */
  apiretry_client_builder_build(builder, &client);
  apiretry_oauth_free(oauth);

  bool needed = true;
  apiretry_result r = APIRETRY_RESULT_OK;
  if (apiretry_client_needs_pairing(client, &needed) == APIRETRY_RESULT_OK && needed) {
    apiretry_pairing *pairing = NULL;
    apiretry_pairing_new(device_url, &pairing);
    apiretry_pairing_set_scope(pairing, "asset_create offline");
    apiretry_pairing_set_callbacks(pairing, show, NULL, NULL);
    r = apiretry_client_pair(client, pairing, NULL, NULL); /* polls; stores the tokens */
    apiretry_pairing_free(pairing);
    printf(r == APIRETRY_RESULT_OK ? "paired\n" : "pairing failed\n");
  }
  if (r == APIRETRY_RESULT_OK) {
    apiretry_request *req = NULL;
    apiretry_response *resp = NULL;
    apiretry_classification *err = NULL;
    apiretry_request_new("POST", "/v2/assets", &req);
    apiretry_request_set_expect(req, 201);
    r = apiretry_client_send(client, req, NULL, &resp, &err);
    printf(r == APIRETRY_RESULT_OK ? "asset created\n" : "asset not created\n");
    apiretry_request_free(req);
    apiretry_response_free(resp);
    apiretry_classification_free(err);
  }
  apiretry_client_free(client);
  return r == APIRETRY_RESULT_OK ? 0 : 1;
}
