"""sipvicious (Debian), the attacker's view of the registrar: svwar, the
SIP extension enumerator, must learn nothing. Every REGISTER without
credentials gets the same 401 whether the user exists or not, and a failed
digest is answered like an unknown user's, so svwar finds no extension even
with --force, over a range and a dictionary that contain real users.
(svcrack, the password guesser, is not run here: once the throttle answers
403 it waits forever. Throttling is covered by the flow and baresip tests.)

usage: svwar_test.py --binary build/bin/switchboard
"""
import argparse
import os
import subprocess

import switchboard_e2e as e2e

# svwar uses the target address as the SIP domain.
REALM = e2e.HOST


def run(cmd, timeout=90):
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    out = r.stdout.decode(errors="replace")
    e2e.log("%s -> exit %d\n%s" % (" ".join(cmd), r.returncode, out[-1500:]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()

    def test():
        e2e.require_tool("svwar", "sipvicious")
        work = e2e.temp_dir("svwar")
        users = [("1001", e2e.random_password()), ("1002", e2e.random_password()),
                 ("alice", e2e.random_password())]
        server = e2e.Server(args.binary, work, e2e.config_yaml(
            os.path.join(work, "data"), [e2e.realm_yaml(REALM, users)],
            listen=("udp:127.0.0.1:0",))).start()
        try:
            dictionary = os.path.join(work, "names.txt")
            with open(dictionary, "w") as f:
                f.write("bob\nalice\nroot\nadmin\n1001\n")
            for scan in (["-e", "1000-1005"], ["-d", dictionary]):
                for method in ("REGISTER", "INVITE", "OPTIONS"):
                    out = run(["svwar", "--force", "-m", method, "-P", str(e2e.free_port()),
                               "-p", str(server.udp_port)] + scan + [e2e.HOST])
                    e2e.check("found nothing" in out,
                              "svwar %s %s learned something:\n%s" % (method, scan, out))
                    for user, _ in users:
                        e2e.check("| %s " % user not in out,
                                  "svwar %s listed %s:\n%s" % (method, user, out))

            uac = e2e.SipUac(server.udp_port)
            bindings = uac.query("alice", users[2][1], REALM)
            e2e.check(bindings == {}, "alice has unexpected bindings: %s" % bindings)
        finally:
            server.stop()

    e2e.main_wrapper(test)


if __name__ == "__main__":
    main()
