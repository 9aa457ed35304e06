#!/usr/bin/env python3
"""Calls through the real switchboard, with sipp devices and sbctl.

One server per part, realms and credentials created with sbctl. Every case
uses its own user, so a device's binding never leaks into another case.
A device is a sipp REGISTER (401 round) from a fresh UDP port followed by a
call scenario on that port (call_e2e.SippDevice); the case waits for its
binding (`sbctl binding list`), then drives the call with `sbctl call …` and
reads `sbctl --json call watch` in the background. A device's sipp must exit
0, i.e. its scenario saw the whole SIP flow (sipp/uas_*.xml say which).

--part outbound (CreateCall):
  answer        uas_answer: create --wait answered → ANSWERED with the SDP
                answer (event and returned call), RINGING before it, get/list;
                hangup → BYE reaches the device; ENDED HANGUP_API; a second
                hangup exits 1.
  ring          uas_ring_answer: --wait ringing returns RINGING with the
                early-media SDP; ANSWERED follows; hangup.
  reject        uas_reject_486: --wait answered exits 1 with CALL_FAILED;
                ENDED REJECTED, sip_status 486; the device got its ACK.
  challenge     uas_challenge_407 / uas_challenge_401: the device challenges
                the INVITE; the call is answered with the CreateCall
                credentials; the (Proxy-)Authorization digest is recomputed
                here from the device's message log (407) or by sipp (401).
  timeout       uas_no_answer: --wait ringing --timeout 3 → ENDED TIMEOUT;
                the device got CANCEL (200 + 487 + ACK).
  cancel        uas_no_answer: hangup while ringing → CANCEL; ENDED HANGUP_API.
  fork          two devices, one user: uas_ring_answer answers, uas_no_answer
                gets CANCEL; branches 2; answered_contact is the first.
  device-bye    uas_bye_from_device: ENDED HANGUP_REMOTE.
  wrong-pw      a wrong sip_auth_password: exit 4 (CREDENTIAL_MISMATCH), and
                the device receives no INVITE at all.
  dtmf          uas_dtmf: `call dtmf ID 12#` → INFO application/dtmf-relay
                Signal=1, 2, # in order at the device.
  dtmf-in       uas_send_dtmf: the device's INFO dtmf-relay 5, # → DTMF events
                with digit "5", "#" (answered 200).
  errors        no binding → exit 1 NO_BINDINGS; unserved realm → exit 5;
                unknown call → exit 5.
--part inbound (devices calling in; a watcher must be there to take them):
  no-consumer   uac_inbound_unanswered_480 while only a read-role watcher
                runs: the device gets 480 at once, the watcher no INCOMING,
                `call list` shows the call ENDED NO_CONSUMER.
  answer        uac_inbound_call on a realm challenging with 401: a
                `call watch --types incoming` sees INCOMING (offer, caller,
                authenticated username); `call answer --sdp` → the device gets
                200 with the SDP, ACKs, later BYEs: ENDED HANGUP_REMOTE.
  reject        uac_inbound_reject_486 on a realm challenging with 407:
                `call reject --status 486` → the device gets 486; ENDED REJECTED.
  cancel        uac_inbound_cancel: the device CANCELs while offered → 200 +
                487; ENDED HANGUP_REMOTE; a late `call answer` exits 1.
  ring-timeout  uac_inbound_unanswered_480 with calls.inbound_ring_timeout 2:
                nobody answers → 480 at the device, ENDED TIMEOUT.

All cases run even when one fails; the failures are listed at the end with
the sipp logs (message flow, errors) of the devices involved.

usage: call_sipp_test.py --binary build/bin/switchboard --sbctl build/bin/sbctl
                         --part outbound|inbound [--only CASE,...]
"""
import argparse
import os
import time

import api_e2e as api
import call_e2e as calls
import switchboard_e2e as e2e

REALM = "calls.e2e.test"
REALM_401 = "in401.e2e.test"
REALM_407 = "in407.e2e.test"


class Ctx:
    def __init__(self, args, work, server, sb, watcher):
        self.args, self.work, self.server, self.sb, self.w = args, work, server, sb, watcher
        self.passwords = {}
        self.devices = []  # killed after each case (a failed case leaves them running)
        self.offer = calls.write_file(work, "offer.sdp", calls.SDP_OFFER)
        self.answer = calls.write_file(work, "answer.sdp", calls.SDP_ANSWER)

    def user(self, name, realm=REALM):
        """Creates credential `name` in `realm`; returns its password."""
        pw = e2e.random_password()
        self.sb.ok("credential", "create", realm, name, "--password-stdin", stdin=pw + "\n")
        self.passwords[(realm, name)] = pw
        return pw

    def device(self, user, scenario_name, name=None, keys=(), **kw):
        pw = self.passwords[(REALM, user)]
        dev = calls.SippDevice(self.work, self.server, REALM, user, pw, scenario_name, name=name,
                               keys=keys, **kw)
        self.devices.append(dev)
        dev.register_and_listen()
        calls.wait_binding(self.sb, REALM, user, dev.port)
        return dev

    def create(self, user, *extra, password=None, expect_rc=0, realm=REALM):
        """sbctl --json call create --to sip:USER@REALM with USER's
        credentials and the SDP offer; returns (call dict or None, stderr)."""
        pw = self.passwords.get((realm, user), "x") if password is None else password
        args = ["--json", "call", "create", "--to", "sip:%s@%s" % (user, realm),
                "--sip-auth-username", user, "--sip-auth-password-stdin",
                "--sdp", self.offer, "--from-name", "E2E Agent"] + list(extra)
        rc, out, err = self.sb.run(*args, stdin=pw + "\n", timeout=60)
        e2e.check(rc == expect_rc, "sbctl %s exited %d, expected %d:\n%s%s" %
                  (" ".join(args), rc, expect_rc, out, err))
        call = calls.parse_json(out, "call create") if rc == 0 else None
        return call, err


def expect(cond, msg):
    e2e.check(cond, msg)


# --------------------------------------------------------------------------
# Outbound


def case_answer(c):
    c.user("ans")
    dev = c.device("ans", "uas_answer.xml")
    call, _ = c.create("ans", "--wait", "answered", "--header", "X-Case: answer",
                       "--request-id", "e2e-answer-1")
    name, cid = call["name"], calls.call_id(call)
    expect(call.get("state") == "ANSWERED", "create --wait answered returned %s" % call)
    expect("m=audio" in call.get("remote_sdp", ""), "no SDP answer in the call: %s" % call)
    expect("o=switchboard-e2e" in call.get("local_sdp", ""), "local_sdp is not the offer: %s" % call)
    expect(call.get("direction") == "OUTBOUND" and call.get("branches") == 1,
           "direction/branches: %s" % call)
    expect(":%d" % dev.port in call.get("answered_contact", ""), "answered_contact: %s" % call)
    ans = c.w.wait_for(name, "ANSWERED", 10)
    ring = c.w.wait_for(name, "RINGING", 1)
    expect(ring["sequence"] < ans["sequence"], "RINGING after ANSWERED: %s" %
           calls.summary(c.w.call_events(name)))
    expect("m=audio" in ans["call"].get("remote_sdp", ""), "ANSWERED without SDP: %s" % ans)
    invite = dev.sipp.received("INVITE ")
    expect(len(invite) == 1, "device got %d INVITEs" % len(invite))
    expect("X-Case: answer" in invite[0] and "E2E Agent" in invite[0] and
           "o=switchboard-e2e" in invite[0], "INVITE lacks the header/display name/SDP:\n%s" %
           invite[0])
    got = c.sb.json("call", "get", cid)
    expect(got.get("state") == "ANSWERED" and got["name"] == name, "call get: %s" % got)
    got = c.sb.json("call", "get", name)
    expect(got["name"] == name, "call get calls/ID: %s" % got)
    listed = c.sb.json("call", "list", "--realm", REALM, "--state", "answered")
    listed = listed.get("calls", []) if isinstance(listed, dict) else listed
    expect(name in [x["name"] for x in listed], "call list --state ANSWERED lacks %s: %s" %
           (name, listed))
    # The same request id returns the same call (no second INVITE).
    again, _ = c.create("ans", "--request-id", "e2e-answer-1")
    expect(again["name"] == name, "request_id retry made another call: %s" % again)
    c.sb.ok("call", "hangup", cid)
    dev.expect_success("answer: BYE from HangupCall")
    end = c.w.wait_for(name, "ENDED", 10)
    expect(end["call"].get("end_reason") == "HANGUP_API", "ENDED: %s" % end)
    expect(len(dev.sipp.received("INVITE ")) == 1, "the request_id retry sent a second INVITE")
    err = c.sb.fails(1, "call", "hangup", cid)
    e2e.log("answer: %s; second hangup: %s" % (calls.summary(c.w.call_events(name)),
                                               err.strip().splitlines()[-1]))


def case_ring(c):
    c.user("ring")
    dev = c.device("ring", "uas_ring_answer.xml")
    call, _ = c.create("ring", "--wait", "ringing")
    name = call["name"]
    expect(call.get("state") == "RINGING", "create --wait ringing returned %s" % call.get("state"))
    ring = c.w.wait_for(name, "RINGING", 5)
    expect("s=early" in ring["call"].get("remote_sdp", ""),
           "RINGING without the early-media SDP: %s" % ring["call"].get("remote_sdp"))
    ans = c.w.wait_for(name, "ANSWERED", 10)
    expect(ring["sequence"] < ans["sequence"], "order: %s" % calls.summary(c.w.call_events(name)))
    expect("s=early" not in ans["call"].get("remote_sdp", "") and
           "m=audio" in ans["call"].get("remote_sdp", ""), "ANSWERED SDP: %s" % ans["call"])
    c.sb.ok("call", "hangup", calls.call_id(call))
    dev.expect_success("ring: BYE")
    c.w.wait_for(name, "ENDED", 10)
    e2e.log("ring: %s" % calls.summary(c.w.call_events(name)))


def case_reject(c):
    c.user("busy")
    dev = c.device("busy", "uas_reject_486.xml")
    _, err = c.create("busy", "--wait", "answered", expect_rc=1)
    expect("CALL_FAILED" in err, "stderr lacks CALL_FAILED: %r" % err)
    end = c.w.wait_type("ENDED", 10, lambda e: e["call"].get("to", "").startswith("sip:busy@"))
    expect(end["call"].get("end_reason") == "REJECTED" and end["call"].get("sip_status") == 486,
           "ENDED: %s" % end["call"])
    dev.expect_success("reject: ACK for the 486")
    e2e.log("reject: exit 1 (%s); %s" % (err.strip().splitlines()[-1],
                                         calls.summary(c.w.call_events(end["call"]["name"]))))


def case_challenge(c, code):
    user = "chal%s" % code
    pw = c.user(user)
    dev = c.device(user, "uas_challenge_%s.xml" % code, keys={"authuser": user, "authpass": pw})
    call, _ = c.create(user, "--wait", "answered")
    expect(call.get("state") == "ANSWERED", "challenge %s: %s" % (code, call.get("state")))
    invites = calls.unique_requests(dev.sipp.received("INVITE "))
    expect(len(invites) == 2, "challenge %s: device got %d INVITE transactions" %
           (code, len(invites)))
    header = "Proxy-Authorization" if code == "407" else "Authorization"
    p = calls.check_digest(invites[1], header, pw)
    ruri = invites[1].split(" ")[1]
    expect(p["uri"] == ruri, "digest uri %s != Request-URI %s" % (p["uri"], ruri))
    c.sb.ok("call", "hangup", calls.call_id(call))
    dev.expect_success("challenge %s" % code)
    first = [t.split(" ", 1)[0] for d, _, t in dev.sipp.messages()
             if d == "in" and t.split(" ", 1)[0] in ("INVITE", "ACK")][1:3]
    e2e.log("challenge %s: answered after the device's challenge; %s verifies (uri %s, qop %s); "
            "after the challenge the device received %s" %
            (code, header, p["uri"], p.get("qop"), " then ".join(first)))


def case_timeout(c):
    c.user("noans")
    dev = c.device("noans", "uas_no_answer.xml")
    call, _ = c.create("noans", "--wait", "ringing", "--timeout", "3")
    name = call["name"]
    end = c.w.wait_for(name, "ENDED", 12)
    expect(end["call"].get("end_reason") == "TIMEOUT", "ENDED: %s" % end["call"])
    dev.expect_success("timeout: CANCEL at the device")
    e2e.log("timeout: %s, sip_status %s after %s" % (
        calls.summary(c.w.call_events(name)), end["call"].get("sip_status"),
        end["call"].get("end_detail", "")))


def case_cancel(c):
    c.user("cancel")
    dev = c.device("cancel", "uas_no_answer.xml")
    call, _ = c.create("cancel", "--wait", "ringing")
    c.sb.ok("call", "hangup", calls.call_id(call))
    end = c.w.wait_for(call["name"], "ENDED", 10)
    expect(end["call"].get("end_reason") == "HANGUP_API", "ENDED: %s" % end["call"])
    dev.expect_success("cancel: CANCEL at the device")
    e2e.log("cancel: %s" % calls.summary(c.w.call_events(call["name"])))


def case_fork(c):
    c.user("fork")
    winner = c.device("fork", "uas_ring_answer.xml", name="fork-answers")
    loser = c.device("fork", "uas_no_answer.xml", name="fork-cancelled")
    call, _ = c.create("fork", "--wait", "answered")
    expect(call.get("branches") == 2, "branches: %s" % call.get("branches"))
    expect(":%d" % winner.port in call.get("answered_contact", ""),
           "answered_contact %s is not the answering device (port %d)" %
           (call.get("answered_contact"), winner.port))
    loser.expect_success("fork: CANCEL to the other branch")
    c.sb.ok("call", "hangup", calls.call_id(call))
    winner.expect_success("fork: BYE to the answering branch")
    c.w.wait_for(call["name"], "ENDED", 10)
    e2e.log("fork: 2 branches, port %d answered, port %d got CANCEL" % (winner.port, loser.port))


def case_device_bye(c):
    c.user("byedev")
    dev = c.device("byedev", "uas_bye_from_device.xml")
    call, _ = c.create("byedev", "--wait", "answered")
    end = c.w.wait_for(call["name"], "ENDED", 10)
    expect(end["call"].get("end_reason") == "HANGUP_REMOTE", "ENDED: %s" % end["call"])
    dev.expect_success("device-bye: 200 to the device's BYE")
    e2e.log("device-bye: %s, duration %s" % (calls.summary(c.w.call_events(call["name"])),
                                            end["call"].get("duration")))


def case_wrong_password(c):
    c.user("wrongpw")
    dev = c.device("wrongpw", "uas_answer.xml", timeout=8)
    _, err = c.create("wrongpw", "--wait", "answered", password="not-the-password", expect_rc=4)
    expect("CREDENTIAL_MISMATCH" in err or "PERMISSION_DENIED" in err, "stderr: %r" % err)
    time.sleep(1.5)
    got = dev.sipp.received("INVITE ")
    dev.sipp.kill()
    expect(not got, "the device received an INVITE despite the wrong password:\n%s" % got)
    e2e.log("wrong-pw: exit 4 (%s); no INVITE reached the device" % err.strip().splitlines()[-1])


def case_dtmf(c):
    c.user("dtmf")
    dev = c.device("dtmf", "uas_dtmf.xml")
    call, _ = c.create("dtmf", "--wait", "answered")
    c.sb.ok("call", "dtmf", calls.call_id(call), "12#", "--duration", "100")
    deadline = time.time() + 10
    while len(dev.sipp.received("INFO ")) < 3 and time.time() < deadline:
        time.sleep(0.1)
    infos = calls.unique_requests(dev.sipp.received("INFO "))
    digits = calls.dtmf_digits(infos)
    expect(digits == "12#", "the device received DTMF %r, expected '12#'" % digits)
    stamps = [ts for d, ts, text in dev.sipp.messages() if d == "in" and text.startswith("INFO ")]
    gaps = ["%.0f ms" % ((b - a) * 1e3) for a, b in zip(stamps, stamps[1:])]
    c.sb.ok("call", "hangup", calls.call_id(call))
    dev.expect_success("dtmf")
    e2e.log("dtmf: the device received INFO dtmf-relay %s (gaps %s; --duration 100)" %
            (", ".join(digits), ", ".join(gaps)))


def case_dtmf_in(c):
    c.user("dtmfin")
    dev = c.device("dtmfin", "uas_send_dtmf.xml")
    call, _ = c.create("dtmfin", "--wait", "answered")
    name = call["name"]
    deadline = time.time() + 10
    while time.time() < deadline:
        digits = [e.get("digit") for e in c.w.call_events(name) if e.get("type") == "DTMF"]
        if len(digits) >= 2:
            break
        c.w.next_event(max(0.1, deadline - time.time()))
    expect(digits == ["5", "#"], "DTMF events from the device: %s (%s)" %
           (digits, calls.summary(c.w.call_events(name))))
    oks = [t for d, _, t in dev.sipp.messages() if d == "in" and t.startswith("SIP/2.0 200")]
    expect(len(oks) >= 2, "the device's INFOs were not answered 200")
    c.sb.ok("call", "hangup", calls.call_id(call))
    dev.expect_success("dtmf-in")
    e2e.log("dtmf-in: the device's INFOs became DTMF events %s" % ", ".join(digits))


def case_errors(c):
    c.user("nobody")
    _, err = c.create("nobody", expect_rc=1)
    expect("NO_BINDINGS" in err, "no binding: %r" % err)
    rc, out, err = c.sb.run("--json", "call", "create", "--to", "sip:x@not-served.e2e.test",
                            timeout=30)
    expect(rc == 5 and "REALM_NOT_SERVED" in err, "unserved realm: %d %r %r" % (rc, out, err))
    c.sb.fails(5, "call", "get", "c00000000000000000000")
    c.sb.fails(5, "call", "hangup", "calls/c00000000000000000000")
    e2e.log("errors: NO_BINDINGS exit 1, REALM_NOT_SERVED exit 5, unknown call exit 5")


OUTBOUND = [("answer", case_answer), ("ring", case_ring), ("reject", case_reject),
            ("challenge407", lambda c: case_challenge(c, "407")),
            ("challenge401", lambda c: case_challenge(c, "401")),
            ("timeout", case_timeout), ("cancel", case_cancel), ("fork", case_fork),
            ("device-bye", case_device_bye), ("wrong-pw", case_wrong_password),
            ("dtmf", case_dtmf), ("dtmf-in", case_dtmf_in), ("errors", case_errors)]


# --------------------------------------------------------------------------
# Inbound


def inbound_device(c, realm, user, scenario_name):
    pw = c.passwords[(realm, user)]
    csv = os.path.join(c.work, "inbound_%s.csv" % user)
    e2e.write_users_csv(csv, [(user, pw)])
    dev = calls.SippDevice(c.work, c.server, realm, user, pw, scenario_name, remote=True,
                           extra=["-inf", csv, "-s", "agent", "-auth_uri", "agent@" + realm])
    c.devices.append(dev)
    dev.register()
    calls.wait_binding(c.sb, realm, user, dev.port)
    return dev.listen()


def case_inbound_answer(c):
    c.user("bob", REALM_401)
    with calls.call_watch(c.sb, "--types", "incoming") as incoming:
        dev = inbound_device(c, REALM_401, "bob", "uac_inbound_call.xml")
        ev = incoming.wait_type("INCOMING", 10)
        call = ev["call"]
        expect(call.get("direction") == "INBOUND" and call.get("state") == "RINGING",
               "INCOMING call: %s" % call)
        expect("bob@" + REALM_401 in call.get("from", "") and
               call.get("sip_auth_username") == "bob" and
               call.get("realm") == "realms/" + REALM_401 and "agent@" in call.get("to", ""),
               "INCOMING caller/callee: %s" % call)
        expect("m=audio" in call.get("remote_sdp", ""), "INCOMING without the offer: %s" % call)
        if call.get("headers") is not None:
            expect("X-Device-Test" in call["headers"], "X- header not reported: %s" %
                   call.get("headers"))
        c.sb.ok("call", "answer", calls.call_id(call), "--sdp", c.answer)
        dev.expect_success("inbound answer: 200 with SDP, ACK, BYE")
        end = c.w.wait_for(call["name"], "ENDED", 10)
        c.w.wait_for(call["name"], "ANSWERED", 1)
        expect(end["call"].get("end_reason") == "HANGUP_REMOTE", "ENDED: %s" % end["call"])
        expect("o=agent-e2e" in end["call"].get("local_sdp", ""), "local_sdp: %s" % end["call"])
        others = [e for e in incoming.events if e.get("type") != "INCOMING"]
        expect(not others, "--types incoming delivered others: %s" % calls.summary(others))
        ok200 = [t for d, _, t in dev.sipp.messages() if d == "in" and t.startswith("SIP/2.0 200")
                 and "o=agent-e2e" in t]
        expect(ok200, "the device's 200 does not carry the AnswerCall SDP")
    e2e.log("inbound answer (401 realm): %s" % calls.summary(c.w.call_events(call["name"])))


def case_inbound_reject(c):
    c.user("carol", REALM_407)
    dev = inbound_device(c, REALM_407, "carol", "uac_inbound_reject_486.xml")
    ev = c.w.wait_type("INCOMING", 10, lambda e: "carol@" in e["call"].get("from", ""))
    c.sb.ok("call", "reject", calls.call_id(ev["call"]), "--status", "486")
    dev.expect_success("inbound reject: 486 at the device")
    end = c.w.wait_for(ev["call"]["name"], "ENDED", 10)
    expect(end["call"].get("end_reason") == "REJECTED" and end["call"].get("sip_status") == 486,
           "ENDED: %s" % end["call"])
    challenged = [t for d, _, t in dev.sipp.messages() if d == "in" and t.startswith("SIP/2.0 407")]
    expect(challenged, "the 407 realm did not answer the first INVITE with 407")
    e2e.log("inbound reject (407 realm): %s" % calls.summary(c.w.call_events(ev["call"]["name"])))


def case_inbound_no_consumer(c):
    """Runs before any calls/admin watcher exists; a read-role watcher does
    not count (it is not given INCOMING)."""
    c.user("dora", REALM_401)
    with calls.call_watch(c.sb, token=c.server.read_token) as reader:
        dev = inbound_device(c, REALM_401, "dora", "uac_inbound_unanswered_480.xml")
        dev.expect_success("inbound without a consumer: 480 at the device")
        time.sleep(0.3)
        incoming = [e for e in reader.events if e.get("type") == "INCOMING"]
        expect(not incoming, "a read-role watcher was given INCOMING: %s" % calls.summary(incoming))
    listed = c.sb.json("call", "list", "--realm", REALM_401)
    listed = listed.get("calls", []) if isinstance(listed, dict) else listed
    mine = [x for x in listed if "dora@" in x.get("from", "")]
    expect(mine and mine[0].get("end_reason") == "NO_CONSUMER",
           "call list: the unanswered inbound call is not ENDED NO_CONSUMER: %s" % mine)
    e2e.log("inbound without a consumer: the device got 480; the call is %s %s (sip_status %s)" %
            (mine[0].get("state"), mine[0].get("end_reason"), mine[0].get("sip_status")))


def case_inbound_cancel(c):
    c.user("erin", REALM_401)
    dev = inbound_device(c, REALM_401, "erin", "uac_inbound_cancel.xml")
    ev = c.w.wait_type("INCOMING", 10, lambda e: "erin@" in e["call"].get("from", ""))
    end = c.w.wait_for(ev["call"]["name"], "ENDED", 10)
    expect(end["call"].get("end_reason") == "HANGUP_REMOTE", "ENDED: %s" % end["call"])
    dev.expect_success("inbound cancel: 200 + 487 at the device")
    err = c.sb.fails(1, "call", "answer", calls.call_id(ev["call"]), "--sdp", c.answer)
    e2e.log("inbound cancel: %s; answering it afterwards exits 1 (%s)" %
            (calls.summary(c.w.call_events(ev["call"]["name"])),
             " ".join(err.split())[:120]))


def case_inbound_timeout(c):
    """calls.inbound_ring_timeout is 2 s in this part's configuration."""
    c.user("fred", REALM_401)
    dev = inbound_device(c, REALM_401, "fred", "uac_inbound_unanswered_480.xml")
    ev = c.w.wait_type("INCOMING", 10, lambda e: "fred@" in e["call"].get("from", ""))
    end = c.w.wait_for(ev["call"]["name"], "ENDED", 10)
    expect(end["call"].get("end_reason") == "TIMEOUT", "ENDED: %s" % end["call"])
    dev.expect_success("inbound ring timeout: 480 at the device")
    e2e.log("inbound ring timeout: %s after %.1f s, sip_status %s" % (
        calls.summary(c.w.call_events(ev["call"]["name"])), end["sequence"] and
        _seconds(ev["time"], end["time"]), end["call"].get("sip_status")))


def _seconds(a, b):
    """Difference of two RFC 3339 timestamps (proto JSON) in seconds."""
    import datetime

    def parse(s):
        s = s.rstrip("Z")
        main, _, frac = s.partition(".")
        t = datetime.datetime.strptime(main, "%Y-%m-%dT%H:%M:%S")
        return t.timestamp() + (float("0." + frac) if frac else 0.0)
    return parse(b) - parse(a)


INBOUND = [("answer", case_inbound_answer), ("reject", case_inbound_reject),
           ("cancel", case_inbound_cancel), ("ring-timeout", case_inbound_timeout)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--sbctl", required=True)
    ap.add_argument("--part", choices=("outbound", "inbound"), required=True)
    ap.add_argument("--only", default="", help="comma-separated case names")
    args = ap.parse_args()

    def test():
        work = e2e.temp_dir("calls-" + args.part)
        extra = "calls:\n  inbound_ring_timeout: 2\n" if args.part == "inbound" else ""
        server = api.ApiServer(args.binary, work, name="calls", extra=extra).start()
        sb = api.Sbctl(args.sbctl, server)
        sb.wait_serving()
        if args.part == "outbound":
            sb.ok("realm", "create", REALM, "--algorithms", "MD5")
            cases = OUTBOUND
        else:
            sb.ok("realm", "create", REALM_401, "--challenge", "401", "--algorithms", "MD5")
            sb.ok("realm", "create", REALM_407, "--challenge", "407", "--algorithms", "MD5")
            cases = INBOUND
        only = [x for x in args.only.split(",") if x]
        failures = []
        if args.part == "inbound" and (not only or "no-consumer" in only):
            # Before the test's own calls/admin watcher starts.
            c = Ctx(args, work, server, sb, None)
            e2e.log("--- case no-consumer")
            try:
                case_inbound_no_consumer(c)
            except e2e.TestFailure as exc:
                e2e.log("case no-consumer FAILED: %s" % exc)
                failures.append(("no-consumer", str(exc), []))
            finally:
                for dev in c.devices:
                    if dev.sipp:
                        dev.sipp.kill()
        with calls.call_watch(sb) as watcher:
            c = Ctx(args, work, server, sb, watcher)
            for name, fn in cases:
                if only and name not in only:
                    continue
                e2e.log("--- case %s" % name)
                before = set(os.listdir(work))
                try:
                    fn(c)
                except e2e.TestFailure as exc:
                    e2e.log("case %s FAILED: %s" % (name, exc))
                    failures.append((name, str(exc), sorted(set(os.listdir(work)) - before)))
                finally:
                    for dev in c.devices:
                        if dev.sipp:
                            dev.sipp.kill()
                    c.devices = []
        for name, msg, files in failures:
            e2e.log("=== %s: %s" % (name, msg.splitlines()[0] if msg else ""))
            for f in files:
                if f.endswith((".msg", ".err")):
                    e2e.log("  device log %s kept in %s" % (f, work))
        if failures:
            import atexit
            atexit.unregister(e2e.shutil.rmtree)  # keep the logs for a look
            raise e2e.TestFailure("%d of the cases failed: %s (logs in %s)" %
                                  (len(failures), ", ".join(n for n, _, _ in failures), work))
        rc = server.stop()
        e2e.check(rc == 0, "switchboard exited %s on SIGTERM" % rc)

    e2e.main_wrapper(test)


if __name__ == "__main__":
    main()
