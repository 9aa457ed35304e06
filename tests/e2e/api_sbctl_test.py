#!/usr/bin/env python3
"""sbctl against the real server: every command group over the gRPC API.

Checks, each on real results:
  * health answers SERVING (exit 0); version prints sbctl's version.
  * realm create/get/list/update/delete with --json parsed (update changes
    only the options given), duplicates ALREADY_EXISTS, invalid settings
    INVALID_ARGUMENT with the field violation printed.
  * credential create with --password-stdin, --password (warns), --ha1-md5 +
    --ha1-sha256, --hash1 + --hash1b; list/get show algorithms, never secrets;
    update; delete (also removes that user's binding).
  * acl add/list/delete.
  * A credential created (or updated) with sbctl registers at once, without a
    restart, with sipp; `binding list --json` shows the binding, `binding get`
    and `binding delete` work, and `watch` (human format) shows the
    REGISTERED line and exits 0 on SIGINT.
  * exit statuses: 2 usage, 3 no server, 4 bad token / read-only token, 5 not found.
  * mutual TLS (certificates made with openssl): --ca-file with --cert-file and
    --key-file works; without the client certificate, or in plaintext, exit 3.

usage: api_sbctl_test.py --binary build/bin/switchboard --sbctl build/bin/sbctl
"""
import argparse
import hashlib
import os
import re
import subprocess

import api_e2e as api
import switchboard_e2e as e2e

REALM = "sbctl.e2e.test"


def ha1(user, realm, password, h=hashlib.md5, user_suffix=""):
    return h(("%s%s:%s:%s" % (user, user_suffix, realm, password)).encode()).hexdigest()


def check_usage_errors(sb):
    """Exit status 2, with a message, for command lines sbctl cannot run."""
    cases = [
        [],                                               # no command
        ["frobnicate"],                                   # unknown command
        ["realm"],                                        # no verb
        ["realm", "get"],                                 # missing NAME
        ["realm", "get", "a", "b"],                       # extra word
        ["realm", "update", REALM],                       # nothing to update
        ["realm", "create", "x.test", "--challenge", "403"],
        ["realm", "create", "x.test", "--algorithms", "MD4"],
        ["realm", "create", "x.test", "--max-contacts", "many"],
        ["credential", "create", REALM, "eve"],           # no secret
        ["credential", "create", REALM, "eve", "--password", "a", "--ha1-md5", "b"],
        ["credential", "create", REALM, "eve", "--hash1", "0" * 32],  # hash1 without hash1b
        ["binding", "list", "--since", "3"],              # option of another command
        ["watch", "--type", "nonsense"],
        ["--timeout", "zero", "realm", "list"],
        ["--no-such-option", "realm", "list"],
        ["--cert-file", "/nonexistent.pem", "realm", "list"],  # without --key-file
    ]
    for args in cases:
        sb.fails(2, *args)
    err = sb.fails(2, "credential", "create", REALM, "eve", "--password-stdin", stdin="")
    e2e.check("standard input" in err, "empty stdin: %r" % err)
    e2e.log("%d usage errors exit 2" % (len(cases) + 1))


def check_connection_and_auth_errors(sb, server):
    # Nothing listens on a port that was free a moment ago: exit 3.
    port = e2e.free_port(e2e.socket.SOCK_STREAM)
    err = sb.fails(3, "realm", "list", server="127.0.0.1:%d" % port)
    e2e.check("UNAVAILABLE" in err, "no server: %r" % err)
    sb.fails(3, "health", server="127.0.0.1:%d" % port)
    sb.fails(3, "watch", server="127.0.0.1:%d" % port)
    # A wrong token, and none at all: UNAUTHENTICATED, exit 4.
    err = sb.fails(4, "realm", "list", token="sbt_wrong")
    e2e.check("UNAUTHENTICATED" in err, "bad token: %r" % err)
    sb.fails(4, "realm", "list", token="")
    sb.fails(4, "watch", token="sbt_wrong")
    # The read role may read but not change: PERMISSION_DENIED, exit 4.
    sb.ok("realm", "list", token=server.read_token)
    err = sb.fails(4, "realm", "create", "denied.e2e.test", token=server.read_token)
    e2e.check("PERMISSION_DENIED" in err, "read token creating a realm: %r" % err)
    # The token from the environment.
    rc, out, err = sb.run("realm", "list", token="", env={"SWITCHBOARD_TOKEN": server.admin_token})
    e2e.check(rc == 0, "SWITCHBOARD_TOKEN not used: %d %s" % (rc, err))
    e2e.log("no server → 3, bad/missing/read-only token → 4, SWITCHBOARD_TOKEN works")


def check_realms(sb):
    realm = sb.json("realm", "create", REALM, "--challenge", "401", "--algorithms", "MD5,SHA-256",
                    "--default-expires", "600", "--min-expires", "30", "--max-expires", "3600",
                    "--max-contacts", "3", "--overflow", "evict-oldest", "--source-auth", "digest")
    want = {"name": "realms/" + REALM, "challenge": "CHALLENGE_MODE_401",
            "algorithms": ["MD5", "SHA_256"], "default_expires_seconds": 600,
            "min_expires_seconds": 30, "max_expires_seconds": 3600, "max_contacts": 3,
            "contact_overflow": "EVICT_OLDEST", "source_auth": "DIGEST"}
    for key, value in want.items():
        e2e.check(realm.get(key) == value, "realm create: %s = %r, expected %r (%s)" %
                  (key, realm.get(key), value, realm))
    e2e.check(sb.json("realm", "get", REALM) == realm, "realm get differs from create's answer")
    e2e.check(sb.json("realm", "get", "realms/" + REALM) == realm, "realm get by full name")

    err = sb.fails(1, "realm", "create", REALM)
    e2e.check("ALREADY_EXISTS" in err, "duplicate realm: %r" % err)
    err = sb.fails(1, "realm", "create", "bad.e2e.test", "--min-expires", "600",
                   "--max-expires", "60")
    e2e.check("INVALID_ARGUMENT" in err and re.search(r"^\s+field \S+", err, re.M),
              "invalid realm settings: expected INVALID_ARGUMENT with a field violation: %r" % err)
    sb.fails(5, "realm", "get", "bad.e2e.test")

    # update: only --max-contacts and --challenge change.
    updated = sb.json("realm", "update", REALM, "--max-contacts", "5", "--challenge", "407")
    e2e.check(updated["max_contacts"] == 5 and updated["challenge"] == "CHALLENGE_MODE_407",
              "realm update not applied: %s" % updated)
    for key in ("algorithms", "default_expires_seconds", "min_expires_seconds",
                "max_expires_seconds", "contact_overflow", "source_auth"):
        e2e.check(updated[key] == realm[key], "realm update changed %s: %r → %r" %
                  (key, realm[key], updated[key]))
    sb.json("realm", "update", REALM, "--challenge", "401")  # sipp answers 401 in this test

    other = sb.json("realm", "create", "other.e2e.test")
    listed = sb.json("realm", "list")
    names = [r["name"] for r in listed["realms"]]
    e2e.check("realms/" + REALM in names and other["name"] in names,
              "realm list --json: %s" % names)
    table = sb.ok("realm", "list")
    e2e.check(re.search(r"^REALM\s+CHALLENGE", table) and re.search(
        r"^%s\s+401\s+MD5,SHA-256\s+600/30/3600\s+5\s+evict-oldest\s+digest" % re.escape(REALM),
        table, re.M), "realm list table:\n%s" % table)
    human = sb.ok("realm", "get", REALM)
    e2e.check(re.search(r"^max-contacts\s+5$", human, re.M), "realm get:\n%s" % human)
    sb.ok("realm", "delete", "other.e2e.test")
    sb.fails(5, "realm", "get", "other.e2e.test")
    sb.fails(5, "realm", "delete", "other.e2e.test")
    sb.fails(5, "realm", "update", "other.e2e.test", "--max-contacts", "2")
    e2e.log("realm create/get/list/update/delete and their errors")


def check_credentials(sb, passwords):
    alice, bob, carol, dave = (passwords[u] for u in ("alice", "bob", "carol", "dave"))
    c = sb.json("credential", "create", REALM, "alice", "--password-stdin", stdin=alice + "\n")
    e2e.check(c["name"] == "realms/%s/credentials/alice" % REALM and c["username"] == "alice",
              "credential create: %s" % c)
    e2e.check(set(c["algorithms"]) == {"MD5", "SHA_256", "SHA_512_256"} and c["has_hash1b"],
              "a password gives every hash: %s" % c)

    rc, out, err = sb.run("--json", "credential", "create", REALM, "bob", "--password", bob)
    e2e.check(rc == 0, "credential create --password: %d %s" % (rc, err))
    e2e.check("process list" in err, "--password gives no warning: %r" % err)

    c = sb.json("credential", "create", REALM, "carol",
                "--ha1-md5", ha1("carol", REALM, carol),
                "--ha1-sha256", ha1("carol", REALM, carol, hashlib.sha256))
    e2e.check(sorted(c["algorithms"]) == ["MD5", "SHA_256"] and not c["has_hash1b"],
              "HA1 credential: %s" % c)
    c = sb.json("credential", "create", REALM, "dave", "--hash1", ha1("dave", REALM, dave),
                "--hash1b", ha1("dave", REALM, dave, user_suffix="@" + REALM))
    e2e.check(c["algorithms"] == ["MD5"] and c["has_hash1b"], "hash1/hash1b credential: %s" % c)

    listed = sb.json("credential", "list", REALM)["credentials"]
    e2e.check(sorted(x["username"] for x in listed) == ["alice", "bob", "carol", "dave"],
              "credential list: %s" % listed)
    for x in listed:
        for secret in ("password", "ha1_md5", "ha1_sha256", "ha1_sha512_256", "hash1", "hash1b"):
            e2e.check(x.get(secret, "") == "", "credential list returned %s: %s" % (secret, x))
    got = sb.json("credential", "get", REALM, "carol")
    e2e.check(got["name"].endswith("/credentials/carol") and sorted(got["algorithms"]) ==
              ["MD5", "SHA_256"], "credential get: %s" % got)
    table = sb.ok("credential", "list", REALM)
    e2e.check(re.search(r"^dave\s+MD5\s+yes$", table, re.M), "credential list table:\n%s" % table)

    err = sb.fails(1, "credential", "create", REALM, "alice", "--password-stdin", stdin="x\n")
    e2e.check("ALREADY_EXISTS" in err, "duplicate credential: %r" % err)
    sb.fails(5, "credential", "get", REALM, "nobody")
    sb.fails(5, "credential", "create", "no-such-realm.e2e.test", "eve", "--password-stdin",
             stdin="pw\n")
    sb.fails(5, "credential", "update", REALM, "nobody", "--password-stdin", stdin="pw\n")
    sb.fails(5, "credential", "delete", REALM, "nobody")

    # A new password for bob, from stdin.
    passwords["bob-old"], passwords["bob"] = passwords["bob"], e2e.random_password()
    c = sb.json("credential", "update", REALM, "bob", "--password-stdin",
                stdin=passwords["bob"] + "\n")
    e2e.check(c["username"] == "bob", "credential update: %s" % c)
    e2e.log("credential create (4 ways)/get/list/update and their errors")


def check_acl(sb):
    a = sb.json("acl", "add", REALM, "192.0.2.0/24")
    e2e.check(a["cidr"] == "192.0.2.0/24" and a["name"] == "realms/%s/aclEntries/192.0.2.0-24" %
              REALM, "acl add: %s" % a)
    sb.json("acl", "add", REALM, "2001:db8::/32")
    listed = sb.json("acl", "list", REALM)["acl_entries"]
    e2e.check(sorted(x["cidr"] for x in listed) == ["192.0.2.0/24", "2001:db8::/32"],
              "acl list: %s" % listed)
    e2e.check(sb.json("realm", "get", REALM)["acl_entry_count"] == 2, "acl_entry_count")
    sb.ok("acl", "delete", REALM, "192.0.2.0/24")
    listed = sb.json("acl", "list", REALM)["acl_entries"]
    e2e.check([x["cidr"] for x in listed] == ["2001:db8::/32"], "after acl delete: %s" % listed)
    sb.fails(5, "acl", "delete", REALM, "198.51.100.0/24")
    sb.fails(1, "acl", "add", REALM, "not-a-network")
    e2e.log("acl add/list/delete")


def check_registrations(sb, server, work, passwords):
    """Credentials created over the API register at once; bindings and watch."""
    watcher_cmd = sb.command(["watch", "--since", "0", "--realm", REALM])
    watcher = api.Watcher(watcher_cmd)  # human format: parsed here as text lines

    ports = {}
    for user in ("alice", "bob", "carol", "dave"):
        ports[user] = e2e.free_port()
        api.sipp_register(work, server, REALM, user, passwords[user], ports[user], expires=600)

    bindings = sb.json("binding", "list", "--realm", REALM)["bindings"]
    by_aor = {b["aor"]: b for b in bindings}
    e2e.check(len(bindings) == 4, "binding list: expected 4 bindings, got %s" %
              [b["aor"] for b in bindings])
    for user, port in ports.items():
        b = by_aor.get("sip:%s@%s" % (user, REALM))
        e2e.check(b is not None, "no binding for %s: %s" % (user, list(by_aor)))
        e2e.check(b["contact"].startswith("sip:%s@127.0.0.1:%d" % (user, port)) and
                  b["transport"] == "udp" and b["source_address"] == "127.0.0.1:%d" % port and
                  b["username"] == user and b["user_agent"] == "sipp-e2e" and
                  b["realm"] == "realms/" + REALM, "binding of %s: %s" % (user, b))
    all_realms = sb.json("binding", "list")["bindings"]
    e2e.check(len(all_realms) == 4, "binding list without --realm: %d" % len(all_realms))
    only = sb.json("binding", "list", "--aor", "sip:carol@" + REALM)["bindings"]
    e2e.check([b["aor"] for b in only] == ["sip:carol@" + REALM], "--aor filter: %s" % only)
    table = sb.ok("binding", "list", "--realm", REALM)
    e2e.check(re.search(r"^sip:alice@%s\s+sip:alice@127\.0\.0\.1:%d" % (re.escape(REALM),
                                                                      ports["alice"]), table, re.M),
              "binding list table:\n%s" % table)

    name = by_aor["sip:alice@" + REALM]["name"]
    e2e.check(sb.json("binding", "get", name)["contact"] == by_aor["sip:alice@" + REALM]["contact"],
              "binding get")
    sb.ok("binding", "delete", name)
    sb.fails(5, "binding", "get", name)
    sb.fails(5, "binding", "delete", name)
    left = [b["aor"] for b in sb.json("binding", "list", "--realm", REALM)["bindings"]]
    e2e.check(sorted(left) == ["sip:%s@%s" % (u, REALM) for u in ("bob", "carol", "dave")],
              "after binding delete: %s" % left)

    # Deleting a credential deregisters its bindings.
    sb.ok("credential", "delete", REALM, "carol")
    sb.fails(5, "credential", "get", REALM, "carol")
    left = [b["aor"] for b in sb.json("binding", "list", "--realm", REALM)["bindings"]]
    e2e.check("sip:carol@" + REALM not in left, "carol's binding outlived her credential: %s" % left)
    e2e.log("sipp registered 4 API-made credentials; binding list/get/delete")

    # The human watch lines: 4 REGISTERED, then UNREGISTERED for alice (api) and carol.
    lines = []
    while len(lines) < 6:
        try:
            line = watcher.lines.get(timeout=10)
        except Exception:
            break
        if line is None:
            break
        lines.append(line.rstrip("\n"))
    e2e.check(len(lines) == 6, "watch printed %d lines: %s" % (len(lines), lines))
    pattern = (r'^#(\d+) \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ REGISTERED sip:alice@%s '
               r'sip:alice@127\.0\.0\.1:%d\S* udp 127\.0\.0\.1:%d "sipp-e2e"$' %
               (re.escape(REALM), ports["alice"], ports["alice"]))
    e2e.check(re.match(pattern, lines[0]), "watch line %r does not match %s" % (lines[0], pattern))
    e2e.check(" UNREGISTERED sip:alice@" in lines[4] and "(api)" in lines[4],
              "binding delete event: %r" % lines[4])
    e2e.check(" UNREGISTERED sip:carol@" in lines[5], "credential delete event: %r" % lines[5])
    seqs = [int(re.match(r"#(\d+) ", l).group(1)) for l in lines]
    e2e.check(seqs == sorted(set(seqs)), "sequences not increasing: %s" % seqs)
    rc, err = watcher.interrupt()
    e2e.check(rc == 0, "sbctl watch exited %d on SIGINT: %s" % (rc, err))
    e2e.log("watch (human): %d lines, SIGINT → exit 0" % len(lines))

    # The old password of bob no longer works (the update replaced it).
    uac = e2e.SipUac(server.udp_port)
    final, _ = uac.register("bob", passwords["bob-old"], REALM, "<sip:bob@127.0.0.1:5999>")
    e2e.check(final.status != 200, "bob's replaced password still registers: %s" %
              final.status_line)
    uac.close()


def make_certificates(work):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, with
    the openssl command line; returns {name: path}."""
    openssl = e2e.require_tool("openssl", "openssl")
    files = {n: os.path.join(work, n) for n in
             ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem", "client.key",
              "client.csr", "client.pem", "san.cnf")}
    with open(files["san.cnf"], "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")

    def run(*args):
        p = subprocess.run([openssl] + list(args), capture_output=True, text=True)
        e2e.check(p.returncode == 0, "openssl %s: %s" % (args[0], p.stderr))

    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run("req", "-x509", *key, "-keyout", files["ca.key"], "-out", files["ca.pem"], "-days", "2",
        "-subj", "/CN=switchboard e2e CA")
    for who in ("server", "client"):
        run("req", "-new", *key, "-keyout", files[who + ".key"], "-out", files[who + ".csr"],
            "-subj", "/CN=switchboard e2e " + who)
        extra = ["-extfile", files["san.cnf"]] if who == "server" else []
        run("x509", "-req", "-in", files[who + ".csr"], "-CA", files["ca.pem"], "-CAkey",
            files["ca.key"], "-CAcreateserial", "-out", files[who + ".pem"], "-days", "2", *extra)
    return files


def check_tls(args):
    """sbctl over mutual TLS: --ca-file + --cert-file/--key-file work; no
    client certificate, or plaintext, cannot reach the server (exit 3)."""
    work = e2e.temp_dir("api-sbctl-tls")
    certs = make_certificates(work)
    server = api.ApiServer(args.binary, work, name="tls", tls={
        "cert_file": certs["server.pem"], "key_file": certs["server.key"],
        "client_ca_file": certs["ca.pem"]})
    server.start()
    mtls = api.Sbctl(args.sbctl, server, ["--ca-file", certs["ca.pem"], "--cert-file",
                                          certs["client.pem"], "--key-file", certs["client.key"]])
    mtls.wait_serving()
    e2e.check(mtls.json("realm", "list")["realms"] != [], "realm list over mutual TLS")
    api.Sbctl(args.sbctl, server, ["--ca-file", certs["ca.pem"]]).fails(3, "realm", "list")
    api.Sbctl(args.sbctl, server).fails(3, "realm", "list")
    api.Sbctl(args.sbctl, server, ["--ca-file", os.path.join(work, "missing.pem")]).fails(
        2, "realm", "list")
    e2e.check(server.stop() == 0, "unclean stop")
    e2e.log("mutual TLS: with a client certificate → OK; without, or plaintext → exit 3")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--sbctl", required=True)
    args = ap.parse_args()

    def test():
        work = e2e.temp_dir("api-sbctl")
        server = api.ApiServer(args.binary, work).start()
        sb = api.Sbctl(args.sbctl, server)
        sb.wait_serving()
        e2e.check(sb.ok("health").strip() == "SERVING", "health")
        e2e.check(sb.ok("version").startswith("sbctl "), "version")

        check_usage_errors(sb)
        check_connection_and_auth_errors(sb, server)
        check_realms(sb)
        passwords = {u: e2e.random_password() for u in ("alice", "bob", "carol", "dave")}
        check_credentials(sb, passwords)
        check_acl(sb)
        check_registrations(sb, server, work, passwords)

        sb.ok("realm", "delete", REALM)
        sb.fails(5, "realm", "get", REALM)
        e2e.check(sb.json("binding", "list")["bindings"] == [],
                  "bindings outlived their realm")
        e2e.check(server.stop() == 0, "unclean stop")
        check_tls(args)

    e2e.main_wrapper(test)


if __name__ == "__main__":
    main()
