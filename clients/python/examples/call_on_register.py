#!/usr/bin/python3
"""When a user registers, call them; print ringing / answered / ended.

    PYTHONPATH=clients/python:build/clients/python/gen /usr/bin/python3 \\
        clients/python/examples/call_on_register.py --server 127.0.0.1:50051 \\
        --token "$SWITCHBOARD_TOKEN" --aor sip:alice@acme.example [--timeout 60] \\
        [--hangup-after 5]

Waits for a REGISTERED event of the AOR (WatchRegistrations), then calls it
(CreateCall, which rings every binding) and follows the call (WatchCalls for
that call only), one line each:
    registered sip:alice@acme.example sip:alice@192.0.2.4:5062
    call calls/c0123... TRYING
    RINGING
    ANSWERED sip:alice@192.0.2.4:5062
    ENDED HANGUP_REMOTE 200 (4.2s)
With --hangup-after S the example hangs up S seconds after the answer.
The token needs role calls (or admin). Exit 0: the call ended; 1: nothing
within --timeout seconds (the call, if any, is hung up); 2: the API refused a
request (the error is printed).
"""

import argparse
import os
import sys
import threading
import time

from switchboard_client import (DEFAULT_SERVER, ApiError, Client, call_event_type_name,
                                call_state_name)
from switchboard.v1 import registration_pb2
import grpc


def say(text):
    print(text, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", default=os.environ.get("SWITCHBOARD_SERVER", DEFAULT_SERVER))
    ap.add_argument("--token", help="API bearer token (default: $SWITCHBOARD_TOKEN)")
    ap.add_argument("--aor", required=True, help="sip:alice@acme.example")
    ap.add_argument("--timeout", type=float, default=60, help="seconds for everything")
    ap.add_argument("--hangup-after", type=float, help="hang up this long after the answer")
    args = ap.parse_args()
    deadline = time.monotonic() + args.timeout
    realm = args.aor.split("@", 1)[1]

    client = Client(args.server, token=args.token)
    call = None
    hangup_timer = None

    def hangup():
        try:
            client.hangup_call(call.name)
        except ApiError:
            pass  # ended meanwhile

    try:
        # 1. Wait for the AOR to register.
        registered = registration_pb2.RegistrationEvent.REGISTERED
        for e in client.watch_registrations(realm=realm, types=[registered], timeout=args.timeout):
            if e.binding.aor == args.aor:
                say("registered %s %s" % (e.binding.aor, e.binding.contact))
                break
        else:  # the stream ended without it: do not call an AOR that never registered
            say("the server ended the stream")
            return 1
        # 2. Watch calls first (so no event is missed), then call.
        events = client.watch_calls(realm=realm, timeout=max(1, deadline - time.monotonic()))
        call = client.create_call(args.aor, ring_timeout=min(60, max(1, args.timeout)))
        say("call %s %s" % (call.name, call_state_name(call.state)))
        # 3. Follow that call until it ends.
        for e in events:
            if e.call.name != call.name:
                continue
            kind = call_event_type_name(e.type)
            if kind == "RINGING":
                say("RINGING")
            elif kind == "ANSWERED":
                say("ANSWERED %s" % e.call.answered_contact)
                if args.hangup_after is not None:
                    hangup_timer = threading.Timer(args.hangup_after, hangup)
                    hangup_timer.daemon = True
                    hangup_timer.start()
            elif kind == "ENDED":
                c = e.call
                took = c.duration.ToTimedelta().total_seconds()
                say("ENDED %s %d (%.1fs)" % (c.EndReason.Name(c.end_reason), c.sip_status, took))
                return 0
        say("the server ended the stream")
        return 1
    except ApiError as e:
        if e.code == grpc.StatusCode.DEADLINE_EXCEEDED:
            print("nothing within %g s" % args.timeout, file=sys.stderr)
            if call is not None:
                try:
                    client.hangup_call(call.name)
                except ApiError:
                    pass  # ended meanwhile
            return 1
        print("error: %s" % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    finally:
        # The call may end before --hangup-after (the device hung up): no
        # hangup then, and no waiting for the timer.
        if hangup_timer is not None:
            hangup_timer.cancel()
        client.close()


if __name__ == "__main__":
    sys.exit(main())
