#!/usr/bin/env python3
"""Write a Switchboard configuration serving the benchmark users.

usage: gen_switchboard_config.py OUT.yaml --users N --realm REALM --port PORT
                                 --data-dir DIR [--threads 1] [--password]

User K is "user<K>" with password "pw<K>" (K = 1..N), exactly the users of
../shared/peers/gen_users.py (its users.csv drives sipp against both servers).
By default the YAML carries only HA1 = MD5(user:realm:password) per user
(`ha1_md5`, as Kamailio's credential table does); --password writes the
passwords instead (the server then also derives SHA-256/SHA-512-256 HA1s at
start, which is slower). The realm offers MD5 only: sipp 3.6 answers MD5 only.
Listens on UDP only (the benchmark is UDP).
"""
import argparse
import hashlib
import secrets

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--users", type=int, default=100000)
ap.add_argument("--realm", default="bench.local")
ap.add_argument("--port", type=int, default=5090)
ap.add_argument("--data-dir", required=True)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--log-level", default="info")
ap.add_argument("--password", action="store_true")
ap.add_argument("--synchronous", choices=["normal", "full"], help="store.synchronous (default: the server's)")
a = ap.parse_args()

with open(a.out, "w") as f:
    f.write("sip:\n  listen: [\"udp:127.0.0.1:%d\"]\n" % a.port)
    f.write("data_dir: \"%s\"\n" % a.data_dir)
    f.write("log_level: %s\nthreads: %d\n" % (a.log_level, a.threads))
    f.write("nonce:\n  secret: \"%s\"\n" % secrets.token_urlsafe(32))
    if a.synchronous:
        f.write("store:\n  synchronous: %s\n" % a.synchronous)
    f.write("realms:\n  - name: %s\n    challenge: 401\n    algorithms: [MD5]\n" % a.realm)
    f.write("    default_expires: 3600\n    max_expires: 7200\n    max_contacts: 10\n")
    f.write("    users:%s\n" % ("" if a.users > 0 else " []"))
    for k in range(1, a.users + 1):
        u, pw = "user%d" % k, "pw%d" % k
        if a.password:
            f.write("      - {username: %s, password: \"%s\"}\n" % (u, pw))
        else:
            ha1 = hashlib.md5(("%s:%s:%s" % (u, a.realm, pw)).encode()).hexdigest()
            f.write("      - {username: %s, ha1_md5: \"%s\"}\n" % (u, ha1))
