"""A device-flow (RFC 8628) and refresh-token (RFC 6749 6) authorization
server built on Authlib, for tests/oauth_authlib.rs.

Prints its port, then serves on 127.0.0.1 until killed. One client,
"camera", with a secret full of reserved characters, accepted in the form
or by HTTP Basic. What the server does with a device code depends on the
scope asked for:

  approve-after-N   the user approves at the code's Nth poll
  deny              the user declines at the first poll
  slow-once         the first poll is answered slow_down
  expire-fast       the code expires on the server after 2.5 s

Refresh tokens rotate: each refresh issues a new one and spends the old.
GET /log returns every request seen (path, time, x-client-version header,
the form's field names); it never holds a secret.
"""

import os
import sys
import threading
import time

os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # plain HTTP on loopback

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc8628 import (
    DeviceAuthorizationEndpoint,
    DeviceCodeGrant,
    DeviceCredentialDict,
)
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

SECRET = "s&cr=t +%/?#"
INTERVAL = 1
LOCK = threading.Lock()
CODES = {}  # device_code -> DeviceCredentialDict
GRANTS = {}  # user_code -> (user, approved)
POLLS = {}  # device_code -> polls so far
TOKENS = {}  # refresh_token -> record
LOG = []


class Client(ClientMixin):
    def get_client_id(self):
        return "camera"

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        return scope

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        return client_secret == SECRET

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_post", "client_secret_basic")

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return grant_type in (DeviceCodeGrant.GRANT_TYPE, "refresh_token")


CLIENT = Client()


class Token(dict):
    def check_client(self, client):
        return client.get_client_id() == "camera"

    def get_scope(self):
        return self.get("scope")


def query_client(client_id):
    return CLIENT if client_id == "camera" else None


def save_token(token, req):
    if "refresh_token" in token:
        with LOCK:
            TOKENS[token["refresh_token"]] = Token(scope=token.get("scope"), user="user")


class Device(DeviceAuthorizationEndpoint):
    INTERVAL = INTERVAL

    def get_verification_uri(self):
        return "https://example.com/activate"

    def save_device_credential(self, client_id, scope, data):
        life = 2.5 if "expire-fast" in (scope or "") else data["expires_in"]
        cred = DeviceCredentialDict(
            client_id=client_id, scope=scope, expires_at=time.time() + life, **data
        )
        with LOCK:
            CODES[data["device_code"]] = cred
            POLLS[data["device_code"]] = 0


class DeviceGrant(DeviceCodeGrant):
    def query_device_credential(self, device_code):
        with LOCK:
            cred = CODES.get(device_code)
            if cred is not None:
                POLLS[device_code] += 1
                scope = cred.get("scope") or ""
                n = POLLS[device_code]
                for word in scope.split():
                    if word.startswith("approve-after-") and n >= int(word.split("-")[-1]):
                        GRANTS[cred["user_code"]] = ("user", True)
                    if word == "deny":
                        GRANTS[cred["user_code"]] = ("user", False)
            return cred

    def query_user_grant(self, user_code):
        with LOCK:
            return GRANTS.get(user_code)

    def should_slow_down(self, credential):
        return "slow-once" in (credential.get_scope() or "") and POLLS[credential["device_code"]] == 1


class Refresh(grants.RefreshTokenGrant):
    INCLUDE_NEW_REFRESH_TOKEN = True
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def authenticate_refresh_token(self, refresh_token):
        with LOCK:
            return TOKENS.get(refresh_token)

    def authenticate_user(self, credential):
        return credential["user"]

    def revoke_old_credential(self, credential):
        with LOCK:
            for k, v in list(TOKENS.items()):
                if v is credential:
                    del TOKENS[k]


app = Flask(__name__)
app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True
app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {
    DeviceCodeGrant.GRANT_TYPE: 3600,
    "refresh_token": 3600,
}
server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
server.register_grant(DeviceGrant)
server.register_grant(Refresh)
server.register_endpoint(Device)


@app.before_request
def record():
    if request.path != "/log":
        with LOCK:
            LOG.append(
                {
                    "path": request.path,
                    "at": time.time(),
                    "x_client_version": request.headers.get("x-client-version"),
                    "basic": request.headers.get("Authorization", "").startswith("Basic "),
                    "fields": sorted(request.form.keys()),
                    "grant_type": request.form.get("grant_type"),
                }
            )


@app.route("/device", methods=["POST"])
def device():
    return server.create_endpoint_response(Device.ENDPOINT_NAME)


@app.route("/token", methods=["POST"])
def token():
    return server.create_token_response()


@app.route("/log")
def log():
    with LOCK:
        return jsonify(LOG)


if __name__ == "__main__":
    http = make_server("127.0.0.1", 0, app, threaded=True)
    print(http.server_port, flush=True)
    sys.stdout.close()
    http.serve_forever()
