#!/usr/bin/env python3
"""The configuration contract, checked on the real binary:

- --help documents every flag and environment variable;
- bad YAML, an unknown realm key and a bad value exit 2 with a message that
  names the file, the line and the key (and never a password);
- precedence flags > SWITCHBOARD_* environment > file, and --sip-listen
  replaces the file's list;
- bootstrap: users given as password and as ha1_md5 authenticate; a realm
  with `challenge: 407` challenges with Proxy-Authenticate; editing a
  password in the file and restarting replaces the stored hash (upsert);
- OPTIONS is answered 200 with REGISTER in Allow;
- a missing nonce secret is warned about; passwords never reach the log.

usage: config_test.py --binary build/bin/switchboard
"""
import argparse
import hashlib
import os
import secrets
import socket
import subprocess

import switchboard_e2e as e2e


def run(binary, args, env_extra=None, timeout=10):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.update(env_extra or {})
    r = subprocess.run([binary] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, env=env)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def options(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((e2e.HOST, 0))
    s.settimeout(3)
    me = s.getsockname()[1]
    msg = ("OPTIONS sip:%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s;rport\r\n"
           "Max-Forwards: 70\r\nFrom: <sip:probe@e2e.test>;tag=1\r\nTo: <sip:%s:%d>\r\n"
           "Call-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n" %
           (e2e.HOST, port, e2e.HOST, me, secrets.token_hex(6), e2e.HOST, port, secrets.token_hex(8)))
    s.sendto(msg.encode(), (e2e.HOST, port))
    r = e2e.Response(s.recvfrom(65535)[0])
    s.close()
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    binary = args.binary

    def test():
        work = e2e.temp_dir("config")

        # --help documents every flag and variable.
        rc, out, _ = run(binary, ["--help"])
        e2e.check(rc == 0, "--help exited %d" % rc)
        for word in ("--config", "--sip-listen", "--data-dir", "--log-level", "--threads",
                     "SWITCHBOARD_CONFIG", "SWITCHBOARD_SIP_LISTEN", "SWITCHBOARD_DATA_DIR",
                     "SWITCHBOARD_LOG_LEVEL", "SWITCHBOARD_THREADS", "SWITCHBOARD_NONCE_SECRET"):
            e2e.check(word in out, "--help does not mention %s" % word)

        # Bad files: exit 2, message names file, line and key.
        def bad(name, text, *fragments):
            path = os.path.join(work, name)
            with open(path, "w") as f:
                f.write(text)
            rc, _, err = run(binary, ["--config", path])
            e2e.check(rc == 2, "%s: exit %d, expected 2 (%s)" % (name, rc, err.strip()))
            for frag in fragments:
                e2e.check(frag in err, "%s: %r not in the message %r" % (name, frag, err.strip()))
            e2e.check("hunter2pass" not in err, "%s: the message shows a password" % name)
            e2e.log("%s -> %s" % (name, err.strip()))

        bad("broken.yaml", "sip:\n  listen: [\"udp:127.0.0.1:0\"\nrealms: {\n", "broken.yaml:",
            "invalid YAML")
        bad("unknown_key.yaml",
            "data_dir: /tmp/x\nrealms:\n  - name: acme.test\n    challange: 407\n",
            "unknown_key.yaml:4:", "realms[0].challange", "unknown key")
        bad("bad_value.yaml",
            "realms:\n  - name: acme.test\n    challenge: 402\n    users:\n"
            "      - username: alice\n        password: hunter2pass\n",
            "bad_value.yaml:3:", "realms[0].challenge", "402")
        bad("no_secret.yaml",
            "realms:\n  - name: acme.test\n    users:\n      - username: alice\n",
            "no_secret.yaml:4:", "realms[0].users[0]",
            "password")
        bad("bad_hash.yaml",
            "realms:\n  - name: acme.test\n    users:\n      - username: alice\n"
            "        ha1_md5: abc\n", "bad_hash.yaml:4:", "realms[0].users[0]", "32 hex")
        rc, _, err = run(binary, ["--threads", "0"])
        e2e.check(rc == 2 and "--threads" in err, "--threads 0: exit %d %r" % (rc, err))
        rc, _, err = run(binary, ["--config", os.path.join(work, "missing.yaml")])
        e2e.check(rc == 2 and "missing.yaml" in err, "missing file: exit %d %r" % (rc, err))
        rc, _, err = run(binary, [], {"SWITCHBOARD_THREADS": "lots"})
        e2e.check(rc == 2 and "SWITCHBOARD_THREADS" in err, "bad env: exit %d %r" % (rc, err))

        # A working file with two realms: password, ha1_md5 and 407.
        alice_pw, bob_pw, carol_pw = (e2e.random_password() for _ in range(3))
        bob_ha1 = hashlib.md5(("bob:acme.test:%s" % bob_pw).encode()).hexdigest()
        file_dir = os.path.join(work, "data-file")

        def write_config(alice_password):
            text = (
                "sip:\n  listen: [\"udp:127.0.0.1:0\", \"tcp:127.0.0.1:0\"]\n"
                # a free port: the API's default 50051 may be taken by a parallel test
                "grpc:\n  listen: \"127.0.0.1:0\"\n"
                "data_dir: %s\nlog_level: error\nthreads: 1\n"
                "realms:\n"
                "  - name: acme.test\n    challenge: 401\n    algorithms: [SHA-256, MD5]\n"
                "    users:\n"
                "      - {username: alice, password: \"%s\"}\n"
                "      - {username: bob, ha1_md5: \"%s\"}\n"
                "  - name: proxy.test\n    challenge: 407\n"
                "    users:\n      - {username: carol, password: \"%s\"}\n"
                % (file_dir, alice_password, bob_ha1, carol_pw))
            return text

        server = e2e.Server(binary, work, write_config(alice_pw), name="acme")
        env_dir = os.path.join(work, "data-env")
        flag_dir = os.path.join(work, "data-flag")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
        env.update({"SWITCHBOARD_DATA_DIR": env_dir, "SWITCHBOARD_LOG_LEVEL": "info"})

        # env beats file (data_dir, log_level); no nonce secret -> warning.
        server.start(env=env)
        conf = [e for e in server.log_lines() if e.get("msg") == "configuration"]
        e2e.check(conf and conf[0].get("data_dir") == env_dir,
                  "SWITCHBOARD_DATA_DIR did not override the file: %s" % conf)
        e2e.check(any(e.get("msg") == "nonce secret generated" and e.get("level") == "warn"
                      for e in server.log_lines()), "no warning about a generated nonce secret")
        uac = e2e.SipUac(server.udp_port)
        final, challenge = uac.register("alice", alice_pw, "acme.test", "<sip:alice@127.0.0.1:5999>",
                                        expires=300)
        e2e.check(challenge.status == 401 and final.status == 200,
                  "alice (password): %s / %s" % (challenge.status_line, final.status_line))
        offered = [e2e.parse_auth_params(v)[1].get("algorithm") for v in
                   challenge.get("www-authenticate")]
        e2e.check(offered == ["SHA-256", "MD5"], "acme.test offered %s" % offered)
        # bob has only an MD5 HA1: he must answer the MD5 challenge (the
        # server warns at start that SHA-256 cannot work for him).
        final, _ = uac.register("bob", bob_pw, "acme.test", "<sip:bob@127.0.0.1:5998>", expires=300,
                                prefer=("MD5",))
        e2e.check(final.status == 200, "bob (ha1_md5): %s" % final.status_line)
        e2e.check(any(e.get("msg") == "user lacks offered algorithms" and e.get("username") == "bob"
                      for e in server.log_lines()), "no warning about bob's missing SHA-256 HA1")
        final, challenge = uac.register("carol", carol_pw, "proxy.test",
                                        "<sip:carol@127.0.0.1:5997>", expires=300)
        e2e.check(challenge.status == 407 and challenge.get("proxy-authenticate") and
                  final.status == 200,
                  "carol (407 realm): %s / %s" % (challenge.status_line, final.status_line))
        r = options(server.udp_port)
        e2e.check(r.status == 200 and "REGISTER" in (r.first("allow") or ""),
                  "OPTIONS: %s Allow: %s" % (r.status_line, r.first("allow")))
        uac.close()
        e2e.check(server.stop() == 0, "unclean stop")

        # flags beat env; --sip-listen replaces the file's list.
        server.start(args=["--data-dir", flag_dir, "--sip-listen", "udp:127.0.0.1:0"], env=env)
        conf = [e for e in server.log_lines() if e.get("msg") == "configuration"]
        e2e.check(conf and conf[0].get("data_dir") == flag_dir,
                  "--data-dir did not override the environment: %s" % conf)
        listening = [e for e in server.log_lines() if e.get("msg") == "listening"]
        e2e.check(len(listening) == 1 and listening[0]["transport"] == "udp",
                  "--sip-listen did not replace the file's list: %s" % listening)
        e2e.check(server.stop() == 0, "unclean stop")

        # Upsert: a new password in the file replaces the stored hash on restart.
        new_pw = e2e.random_password()
        with open(server.config_path, "w") as f:
            f.write(write_config(new_pw))
        server.start(env=env)
        uac = e2e.SipUac(server.udp_port)
        final, _ = uac.register("alice", new_pw, "acme.test", "<sip:alice@127.0.0.1:5999>", expires=300)
        e2e.check(final.status == 200, "new password after restart: %s" % final.status_line)
        final, _ = uac.register("alice", alice_pw, "acme.test", "<sip:alice@127.0.0.1:5999>", expires=300)
        e2e.check(final.status in (401, 403), "old password after restart: %s" % final.status_line)
        uac.close()
        e2e.check(server.stop() == 0, "unclean stop")

        text = open(server.log_path, errors="replace").read()
        for secret in (alice_pw, bob_pw, carol_pw, new_pw, bob_ha1):
            e2e.check(secret not in text, "a password or hash appears in the log")

    e2e.main_wrapper(test)


if __name__ == "__main__":
    main()
