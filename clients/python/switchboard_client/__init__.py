"""switchboard_client: a small Python client for the Switchboard gRPC API.

    from switchboard_client import Client

    with Client("127.0.0.1:50051", token="sbt_...") as client:
        client.create_realm("acme.example")
        client.create_credential("acme.example", "alice", password="s3cret")
        for binding in client.list_bindings(realm="acme.example"):
            print(binding.aor, binding.contact)
        for event in client.watch_registrations(since=0, realm="acme.example"):
            print(event.sequence, event_type_name(event.type), event.binding.aor)
        call = client.create_call("sip:alice@acme.example", wait_for="ANSWERED")
        client.hangup_call(call.name)

Runs on Debian's python3-grpcio with stubs generated at build time into
build/clients/python/gen (put that directory and clients/python on
PYTHONPATH; see clients/python/README.md).
"""

from switchboard_client.client import (  # noqa: F401
    DEFAULT_SERVER,
    ApiError,
    Client,
    call_event_type_name,
    call_resource,
    call_state_name,
    event_type_name,
    realm_resource,
)
