#!/usr/bin/python3
"""Lists a realm's bindings and prints its registration events as they happen.

    PYTHONPATH=clients/python:build/clients/python/gen /usr/bin/python3 \\
        clients/python/examples/watch_and_list.py --server 127.0.0.1:50051 \\
        --token "$SWITCHBOARD_TOKEN" --realm acme.example \\
        [--create-realm] [--username alice --password s3cret] \\
        [--since 0] [--until-event REGISTERED --timeout 30]

--create-realm creates the realm first (MD5 challenges, 401) and, with
--username and --password, a credential for that user. Then the realm's
bindings are listed, one line each:
    binding AOR CONTACT TRANSPORT SOURCE NAME
and every event is printed as it arrives:
    event #SEQ TIME TYPE AOR CONTACT TRANSPORT SOURCE "USER-AGENT"
With --until-event TYPE the example stops at the first event of that type,
lists the bindings again and exits 0; if none arrives within --timeout
seconds it exits 1. Without it, it runs until Ctrl-C (or for --timeout seconds). Exit 2: the API
refused a request (the error is printed).
"""

import argparse
import datetime
import os
import sys

from switchboard_client import DEFAULT_SERVER, ApiError, Client, event_type_name
import grpc


def say(text):
    print(text, flush=True)


def list_bindings(client, realm):
    count = 0
    for b in client.list_bindings(realm=realm):
        say("binding %s %s %s %s %s" % (b.aor, b.contact, b.transport, b.source_address, b.name))
        count += 1
    say("bindings: %d" % count)


def event_line(e):
    when = e.event_time.ToDatetime().replace(tzinfo=datetime.timezone.utc)
    b = e.binding
    return 'event #%d %s %s %s %s %s %s "%s"' % (
        e.sequence, when.strftime("%Y-%m-%dT%H:%M:%SZ"), event_type_name(e.type), b.aor or "-",
        b.contact or "-", b.transport or "-", e.source_address or "-", e.user_agent)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--server", default=os.environ.get("SWITCHBOARD_SERVER", DEFAULT_SERVER))
    ap.add_argument("--token", help="API bearer token (default: $SWITCHBOARD_TOKEN)")
    ap.add_argument("--realm", required=True)
    ap.add_argument("--create-realm", action="store_true")
    ap.add_argument("--username")
    ap.add_argument("--password")
    ap.add_argument("--since", type=int, help="replay retained events after this sequence")
    ap.add_argument("--until-event", metavar="TYPE", help="stop at the first event of this type")
    ap.add_argument("--timeout", type=float, help="seconds to wait for --until-event")
    args = ap.parse_args()

    client = Client(args.server, token=args.token)
    try:
        if args.create_realm:
            realm = client.create_realm(args.realm)
            say("created %s" % realm.name)
            if args.username and args.password:
                credential = client.create_credential(args.realm, args.username,
                                                      password=args.password)
                say("created %s" % credential.name)
        list_bindings(client, args.realm)

        say("watching %s" % args.realm)
        for event in client.watch_registrations(since=args.since, realm=args.realm,
                                                timeout=args.timeout):
            say(event_line(event))
            if args.until_event and event_type_name(event.type) == args.until_event.upper():
                list_bindings(client, args.realm)
                return 0
        say("the server ended the stream")
        return 1
    except ApiError as e:
        if e.code == grpc.StatusCode.DEADLINE_EXCEEDED and args.timeout:
            if not args.until_event:
                return 0  # watched for --timeout seconds, as asked
            print("no %s event within %g s" % (args.until_event, args.timeout), file=sys.stderr)
            return 1
        print("error: %s" % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
