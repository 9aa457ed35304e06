"""The Client class: one channel, the bearer token on every call, pages
followed for you, and registration events as a generator.

Errors: every failed call raises ApiError (code, message and the decoded
google.rpc details of the grpc-status-details-bin trailer).
"""

import os

import grpc

try:
    from google.rpc import error_details_pb2, status_pb2
    from switchboard.v1 import admin_pb2, admin_pb2_grpc, registration_pb2, registration_pb2_grpc
except ImportError as exc:  # pragma: no cover - a set-up problem, not a code path
    raise ImportError(
        "switchboard_client: the generated stubs are missing. Build them (make build, or "
        "cmake --build build --target python_stubs) and add build/clients/python/gen to "
        "PYTHONPATH (%s)" % exc) from exc

DEFAULT_SERVER = "127.0.0.1:50051"

_DETAIL_TYPES = (error_details_pb2.BadRequest, error_details_pb2.ErrorInfo,
                 error_details_pb2.ResourceInfo)


def realm_resource(realm):
    """'acme.example' or 'realms/acme.example' -> 'realms/acme.example'."""
    return realm if realm.startswith("realms/") else "realms/" + realm


def event_type_name(event_type):
    """RegistrationEvent.Type value -> 'REGISTERED', 'REFRESHED', ..."""
    return registration_pb2.RegistrationEvent.Type.Name(event_type)


def _status_details(rpc_error):
    """The google.rpc detail messages of a failed call (BadRequest, ErrorInfo,
    ResourceInfo), decoded from the grpc-status-details-bin trailer."""
    trailers = rpc_error.trailing_metadata() if hasattr(rpc_error, "trailing_metadata") else None
    for key, value in trailers or ():
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)
        details = []
        for any_detail in status.details:
            for cls in _DETAIL_TYPES:
                if any_detail.Is(cls.DESCRIPTOR):
                    message = cls()
                    any_detail.Unpack(message)
                    details.append(message)
                    break
        return details
    return []


class ApiError(Exception):
    """A call the server (or the channel) failed.

    code: grpc.StatusCode; message: the server's text; details: decoded
    google.rpc messages (BadRequest, ErrorInfo, ResourceInfo)."""

    def __init__(self, rpc_error):
        self.code = rpc_error.code()
        self.message = rpc_error.details() or ""
        self.details = _status_details(rpc_error)
        super().__init__(str(self))

    def __str__(self):
        text = "%s: %s" % (self.code.name, self.message)
        for d in self.details:
            if isinstance(d, error_details_pb2.BadRequest):
                for v in d.field_violations:
                    text += "\n  field %s: %s" % (v.field, v.description)
            elif isinstance(d, error_details_pb2.ErrorInfo):
                text += "\n  reason %s %s" % (d.reason, dict(d.metadata) or "")
            elif isinstance(d, error_details_pb2.ResourceInfo):
                text += "\n  resource %s %s" % (d.resource_type, d.resource_name)
        return text


class Client:
    """A connection to one Switchboard server.

    server: "HOST:PORT". token: the API bearer token (default: the
    SWITCHBOARD_TOKEN environment variable). tls=True (or any PEM given)
    uses TLS; root_certificates / private_key / certificate_chain are PEM
    bytes. timeout: seconds per unary call (streams have none unless given).
    """

    def __init__(self, server=DEFAULT_SERVER, token=None, tls=False, root_certificates=None,
                 private_key=None, certificate_chain=None, timeout=10.0):
        if token is None:
            token = os.environ.get("SWITCHBOARD_TOKEN") or None
        if tls or root_certificates or certificate_chain:
            credentials = grpc.ssl_channel_credentials(root_certificates, private_key,
                                                       certificate_chain)
            self.channel = grpc.secure_channel(server, credentials)
        else:
            self.channel = grpc.insecure_channel(server)
        # Plain metadata, not call credentials: gRPC sends call credentials
        # only over TLS, and a loopback server is usually plaintext.
        self.metadata = (("authorization", "Bearer " + token),) if token else ()
        self.timeout = timeout
        self.admin = admin_pb2_grpc.AdminServiceStub(self.channel)
        self.registrations = registration_pb2_grpc.RegistrationServiceStub(self.channel)

    def close(self):
        self.channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, method, request):
        try:
            return method(request, metadata=self.metadata, timeout=self.timeout)
        except grpc.RpcError as e:
            raise ApiError(e) from None

    def _pages(self, method, request, field):
        while True:
            page = self._call(method, request)
            yield from getattr(page, field)
            if not page.next_page_token:
                return
            request.page_token = page.next_page_token

    # -- realms -------------------------------------------------------------

    def create_realm(self, realm_id, **settings):
        """Creates realms/{realm_id}; settings are Realm fields
        (challenge=admin_pb2.CHALLENGE_MODE_407, algorithms=[admin_pb2.MD5],
        min_expires_seconds=10, ...). Returns the Realm."""
        request = admin_pb2.CreateRealmRequest(realm_id=realm_id, realm=admin_pb2.Realm(**settings))
        return self._call(self.admin.CreateRealm, request)

    def get_realm(self, realm):
        return self._call(self.admin.GetRealm, admin_pb2.GetRealmRequest(name=realm_resource(realm)))

    def list_realms(self):
        """Every realm, all pages."""
        return self._pages(self.admin.ListRealms, admin_pb2.ListRealmsRequest(), "realms")

    def delete_realm(self, realm):
        self._call(self.admin.DeleteRealm, admin_pb2.DeleteRealmRequest(name=realm_resource(realm)))

    # -- credentials --------------------------------------------------------

    def create_credential(self, realm, username, password=None, **hashes):
        """Creates realms/{realm}/credentials/{username} from a password or
        from hashes (ha1_md5=, ha1_sha256=, ha1_sha512_256=, or hash1= and
        hash1b=). Returns the Credential (which never carries secrets)."""
        credential = admin_pb2.Credential(password=password or "", **hashes)
        request = admin_pb2.CreateCredentialRequest(parent=realm_resource(realm),
                                                    credential_id=username, credential=credential)
        return self._call(self.admin.CreateCredential, request)

    def list_credentials(self, realm):
        request = admin_pb2.ListCredentialsRequest(parent=realm_resource(realm))
        return self._pages(self.admin.ListCredentials, request, "credentials")

    def delete_credential(self, realm, username):
        name = "%s/credentials/%s" % (realm_resource(realm), username)
        self._call(self.admin.DeleteCredential, admin_pb2.DeleteCredentialRequest(name=name))

    # -- bindings and events --------------------------------------------------

    def list_bindings(self, realm=None, aor=None, page_size=0):
        """Every binding (of one realm, or of every realm), following
        next_page_token through all pages."""
        request = registration_pb2.ListBindingsRequest(
            parent=realm_resource(realm) if realm else "realms/-", aor=aor or "",
            page_size=page_size)
        return self._pages(self.registrations.ListBindings, request, "bindings")

    def get_binding(self, name):
        return self._call(self.registrations.GetBinding, registration_pb2.GetBindingRequest(name=name))

    def delete_binding(self, name):
        self._call(self.registrations.DeleteBinding,
                   registration_pb2.DeleteBindingRequest(name=name))

    def watch_registrations(self, since=None, realm=None, types=(), timeout=None):
        """Yields RegistrationEvents as they happen. since=None: live events
        only; since=S: the retained events after S first (0: all retained).
        types: RegistrationEvent.Type values (all when empty). timeout: a
        deadline for the whole stream in seconds (ends it with ApiError
        DEADLINE_EXCEEDED). Closing the generator cancels the call; a server
        error (OUT_OF_RANGE, RESOURCE_EXHAUSTED, ...) raises ApiError, after
        which watching again with since=<last sequence seen> resumes with no
        gap and no duplicate."""
        request = registration_pb2.WatchRegistrationsRequest(
            realm=realm_resource(realm) if realm else "", types=list(types))
        if since is not None:
            request.since_sequence = since
        call = self.registrations.WatchRegistrations(request, metadata=self.metadata,
                                                     timeout=timeout)
        try:
            for event in call:
                yield event
        except grpc.RpcError as e:
            raise ApiError(e) from None
        finally:
            call.cancel()
