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
    from switchboard.v1 import call_pb2, call_pb2_grpc
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


def call_resource(call):
    """'c0123...' or 'calls/c0123...' -> 'calls/c0123...'."""
    return call if call.startswith("calls/") else "calls/" + call


def call_event_type_name(event_type):
    """CallEvent.Type value -> 'CREATED', 'RINGING', 'ANSWERED', 'ENDED', ..."""
    return call_pb2.CallEvent.Type.Name(event_type)


def call_state_name(state):
    """Call.State value -> 'TRYING', 'RINGING', 'ANSWERED', 'ENDED'."""
    return call_pb2.Call.State.Name(state)


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
        self.calls = call_pb2_grpc.CallServiceStub(self.channel)

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

    # -- calls (CallService; role calls or admin, read for get/list/watch) ----

    def create_call(self, to, sip_auth_username="", sip_auth_password="", from_uri="",
                    from_display_name="", sdp_offer="", ring_timeout=None, headers=None,
                    request_id="", wait_for=None, timeout=None):
        """Rings every binding of `to` ("sip:alice@acme.example"); returns the
        Call. wait_for: None/"NONE" (return once the INVITEs are sent),
        "RINGING" or "ANSWERED" (ABORTED CALL_FAILED when the call ends
        first). ring_timeout: seconds (1..600, default 60). headers: {"X-…":
        value}. timeout: the call's deadline (default: the client's, plus
        the ring timeout when waiting). A deadline or cancel ends the wait,
        not the call."""
        request = call_pb2.CreateCallRequest(
            to=to, sip_auth_username=sip_auth_username, sip_auth_password=sip_auth_password,
            sdp_offer=sdp_offer, request_id=request_id, headers=headers or {})
        setattr(request, "from", from_uri)  # `from` is a Python keyword
        request.from_display_name = from_display_name
        if ring_timeout is not None:
            request.ring_timeout.FromMilliseconds(int(ring_timeout * 1000))
        if wait_for:
            request.wait_for = call_pb2.CreateCallRequest.WaitFor.Value(wait_for.upper())
        if timeout is None:
            timeout = self.timeout
            if wait_for and wait_for.upper() != "NONE":
                timeout += ring_timeout if ring_timeout is not None else 60
        try:
            return self.calls.CreateCall(request, metadata=self.metadata, timeout=timeout)
        except grpc.RpcError as e:
            raise ApiError(e) from None

    def get_call(self, call):
        return self._call(self.calls.GetCall, call_pb2.GetCallRequest(name=call_resource(call)))

    def list_calls(self, realm=None, state=None, page_size=0):
        """Every call (active and recently ended), following next_page_token.
        state: "TRYING", "RINGING", "ANSWERED" or "ENDED"."""
        request = call_pb2.ListCallsRequest(realm=realm_resource(realm) if realm else "",
                                            page_size=page_size)
        if state:
            request.state = call_pb2.Call.State.Value(state.upper())
        return self._pages(self.calls.ListCalls, request, "calls")

    def hangup_call(self, call):
        return self._call(self.calls.HangupCall,
                          call_pb2.HangupCallRequest(name=call_resource(call)))

    def send_dtmf(self, call, digits, duration_ms=None):
        request = call_pb2.SendDtmfRequest(name=call_resource(call), digits=digits)
        if duration_ms is not None:
            request.duration.FromMilliseconds(int(duration_ms))
        return self._call(self.calls.SendDtmf, request)

    def answer_call(self, call, sdp_answer=""):
        return self._call(self.calls.AnswerCall,
                          call_pb2.AnswerCallRequest(name=call_resource(call),
                                                     sdp_answer=sdp_answer))

    def reject_call(self, call, sip_status=0):
        return self._call(self.calls.RejectCall,
                          call_pb2.RejectCallRequest(name=call_resource(call),
                                                     sip_status=sip_status))

    def watch_calls(self, realm=None, types=(), call=None, timeout=None):
        """Starts watching call events (live only) and returns an iterator of
        CallEvents once the server has subscribed, so a call created after
        this returns cannot be missed. types: CallEvent.Type values or names
        ("RINGING", ...); call: only this call's events; timeout: a deadline
        for the whole stream. Closing the iterator cancels the stream; errors
        raise ApiError (RESOURCE_EXHAUSTED when the watcher falls behind)."""
        request = call_pb2.WatchCallsRequest(
            realm=realm_resource(realm) if realm else "", call=call_resource(call) if call else "",
            types=[call_pb2.CallEvent.Type.Value(t.upper()) if isinstance(t, str) else t
                   for t in types])
        stream = self.calls.WatchCalls(request, metadata=self.metadata, timeout=timeout)
        stream.initial_metadata()  # sent by the server once subscribed (or the call failed)
        return self._events(stream)

    @staticmethod
    def _events(stream):
        try:
            for event in stream:
                yield event
        except grpc.RpcError as e:
            raise ApiError(e) from None
        finally:
            stream.cancel()
