#!/usr/bin/env python3
"""The call scenarios of tests/e2e/sipp against each other, without the
server: every device scenario (uas_*.xml, uac_inbound_*.xml) plays against a
sipp peer that does what Switchboard does on the other side
(sipp/peers/sb_*.xml), on loopback. Proves the scenarios are well-formed and
that each completes its flow (both sipp runs exit 0), and that the checks
inside them bite: a wrong password on a 401 challenge, an INFO where none is
expected, a 486 where a 200 is expected all fail the run.

What each pair checks beyond "both exit 0":
  * uas_answer / uas_ring_answer / uas_expect_bye vs sb_uac_answer: the 200
    carries SDP; uas_ring_answer's 180 carries early-media SDP.
  * uas_dtmf vs sb_uac_dtmf: the device logs INFOs "1" then "#"
    (dtmf_digits(), as call_sipp_test.py reads them).
  * uas_challenge_401 / uas_challenge_407 vs sb_uac_challenge: the second
    INVITE's (Proxy-)Authorization digest verifies with the password
    (check_digest(), as call_sipp_test.py does); and vs
    sb_uac_challenge_reordered (the new INVITE before the challenge's ACK).
  * uas_no_answer vs sb_uac_cancel, uas_reject_486 vs sb_uac_reject,
    uas_bye_from_device vs sb_uac_bye_from_device, uas_send_dtmf vs
    sb_uac_recv_dtmf.
  * uac_inbound_call / uac_inbound_reject_486 vs sb_uas_inbound(_reject).

usage: call_sipp_scenarios_test.py [--binary IGNORED]
"""
import argparse
import os

import call_e2e as calls
import switchboard_e2e as e2e

REALM = "scenarios.e2e.test"
USER, PASSWORD = "alice", "s3cret-Pw"


def run_pair(work, name, uas, uac, uas_args=(), uac_args=(), expect_ok=True, timeout=15):
    """Starts the UAS (`uas` scenario), then the UAC against it; returns
    (uas Sipp, uac Sipp). With expect_ok both must exit 0; otherwise at
    least one must fail."""
    server = calls.Sipp(work, name + "-uas", calls.scenario(uas),
                        ["-key", "sipdomain", REALM] + list(uas_args), timeout=timeout)
    client = calls.Sipp(work, name + "-uac", calls.scenario(uac),
                        ["-key", "sipdomain", REALM, "-s", USER] + list(uac_args),
                        remote="%s:%d" % (e2e.HOST, server.local_port), timeout=timeout)
    rc_client = client.finish(timeout + 5)
    rc_server = server.finish(3 if not expect_ok else timeout + 5)
    if expect_ok:
        e2e.check(rc_client == 0 and rc_server == 0,
                  "%s: uac exited %s, uas %s\n%s\n%s" % (name, rc_client, rc_server,
                                                         client.report(), server.report()))
        e2e.log("%s: %s <-> %s: both exit 0" % (name, uas, uac))
    else:
        e2e.check(rc_client != 0 or rc_server != 0,
                  "%s: expected a failure, but both exited 0\n%s\n%s" %
                  (name, client.report(), server.report()))
        e2e.log("%s: %s <-> %s fails as it must (uac %s, uas %s)" % (name, uas, uac, rc_client,
                                                                    rc_server))
    return server, client


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", help="unused: no server is needed")
    ap.parse_args()

    def test():
        work = e2e.temp_dir("call-scenarios")
        auth_keys = ["-key", "authuser", USER, "-key", "authpass", PASSWORD]
        csv = os.path.join(work, "users.csv")
        e2e.write_users_csv(csv, [(USER, PASSWORD)])

        for uas in ("uas_answer.xml", "uas_ring_answer.xml", "uas_expect_bye.xml"):
            server, _ = run_pair(work, uas[:-4], uas, "peers/sb_uac_answer.xml")
            ok = server.messages()
            sent_200 = [t for d, _, t in ok if d == "out" and t.startswith("SIP/2.0 200")
                        and "m=audio" in t]
            e2e.check(sent_200, "%s: no 200 with SDP sent" % uas)
            if uas == "uas_ring_answer.xml":
                e2e.check([t for d, _, t in ok if d == "out" and t.startswith("SIP/2.0 180")
                           and "s=early" in t], "uas_ring_answer: no 180 with early SDP")

        server, _ = run_pair(work, "dtmf", "uas_dtmf.xml", "peers/sb_uac_dtmf.xml")
        digits = calls.dtmf_digits(server.received("INFO "))
        e2e.check(digits == "1#", "uas_dtmf logged digits %r, expected '1#'" % digits)
        e2e.log("dtmf: the device logged INFO digits %r" % digits)
        run_pair(work, "answer-dtmf", "uas_answer.xml", "peers/sb_uac_dtmf.xml")

        for code in ("401", "407"):
            server, _ = run_pair(work, "challenge-" + code, "uas_challenge_%s.xml" % code,
                                 "peers/sb_uac_challenge.xml", uas_args=auth_keys,
                                 uac_args=auth_keys + ["-auth_uri", "%s@%s" % (USER, REALM)])
            invites = server.received("INVITE ")
            e2e.check(len(invites) == 2, "challenge %s: %d INVITEs" % (code, len(invites)))
            header = "Authorization" if code == "401" else "Proxy-Authorization"
            p = calls.check_digest(invites[1], header, PASSWORD)
            e2e.log("challenge %s: %s verifies (username %s, uri %s, qop %s)" %
                    (code, header, p["username"], p["uri"], p.get("qop")))

        for code in ("401", "407"):  # the authenticated INVITE before the challenge's ACK
            run_pair(work, "challenge-%s-reordered" % code, "uas_challenge_%s.xml" % code,
                     "peers/sb_uac_challenge_reordered.xml", uas_args=auth_keys,
                     uac_args=auth_keys + ["-auth_uri", "%s@%s" % (USER, REALM)])

        run_pair(work, "no-answer", "uas_no_answer.xml", "peers/sb_uac_cancel.xml")
        run_pair(work, "reject", "uas_reject_486.xml", "peers/sb_uac_reject.xml")
        run_pair(work, "bye-from-device", "uas_bye_from_device.xml",
                 "peers/sb_uac_bye_from_device.xml")
        run_pair(work, "dtmf-from-device", "uas_send_dtmf.xml", "peers/sb_uac_recv_dtmf.xml")

        inbound_args = ["-inf", csv, "-auth_uri", "%s@%s" % (USER, REALM)]
        run_pair(work, "inbound", "peers/sb_uas_inbound.xml", "uac_inbound_call.xml",
                 uas_args=auth_keys, uac_args=inbound_args)
        run_pair(work, "inbound-reject", "peers/sb_uas_inbound_reject.xml",
                 "uac_inbound_reject_486.xml", uas_args=auth_keys, uac_args=inbound_args)

        # The checks bite.
        run_pair(work, "neg-wrong-password", "uas_challenge_401.xml",
                 "peers/sb_uac_challenge.xml", uas_args=auth_keys,
                 uac_args=["-key", "authuser", USER, "-key", "authpass", "wrong"],
                 expect_ok=False, timeout=3)
        run_pair(work, "neg-unexpected-info", "uas_expect_bye.xml", "peers/sb_uac_dtmf.xml",
                 expect_ok=False, timeout=3)
        run_pair(work, "neg-reject-not-answer", "peers/sb_uas_inbound_reject.xml",
                 "uac_inbound_call.xml", uas_args=auth_keys, uac_args=inbound_args,
                 expect_ok=False, timeout=3)

    e2e.main_wrapper(test)


if __name__ == "__main__":
    main()
