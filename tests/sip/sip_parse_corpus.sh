#!/usr/bin/env bash
# Runs build/bin/sip-parse on every RFC 4475 message and checks its verdict
# against the corpus INDEX.tsv: valid and valid-but-odd messages must give
# "ok": true; the invalid ones the RFC says must be rejected must give false.
set -u
tool=$1 corpus=$2
fail=0
must_reject="badinv01.dat clerr.dat ncl.dat scalar02.dat scalarlg.dat quotbal.dat ltgtruri.dat lwsruri.dat baddn.dat badvers.dat bigcode.dat"
while IFS=$'\t' read -r file section category _; do
  [ "$file" = file ] && continue
  out=$("$tool" "$corpus/$file"); rc=$?
  case "$category" in
    valid|valid-but-odd)
      if ! grep -q '"ok": true' <<<"$out" || [ $rc -ne 0 ]; then echo "FAIL $file ($category): $out"; fail=1; fi ;;
    invalid)
      if [[ " $must_reject " == *" $file "* ]] && { ! grep -q '"ok": false' <<<"$out" || [ $rc -ne 1 ]; }; then
        echo "FAIL $file ($category) should be rejected: $out"; fail=1; fi ;;
  esac
done < "$corpus/INDEX.tsv"
# Every line is one JSON object with the documented fields.
"$tool" "$corpus"/*.dat | python3 -c '
import json, sys
need_ok = {"file", "ok", "kind", "call_id", "cseq", "via_count", "contact_count",
           "content_length", "body_bytes", "header_count"}
bad = 0
for line in sys.stdin:
    o = json.loads(line)
    missing = (need_ok if o["ok"] else {"file", "ok", "error"}) - o.keys()
    if missing:
        print("FAIL", o["file"], "lacks", sorted(missing)); bad = 1
sys.exit(bad)' || fail=1
# Several files at once: one line each, exit 1 because some are invalid.
n=$("$tool" "$corpus"/*.dat | wc -l); rc=$?
[ "$n" -eq 50 ] || { echo "FAIL expected 50 lines, got $n"; fail=1; }
"$tool" "$corpus/wsinv.dat" "$corpus/esc01.dat" >/dev/null || { echo "FAIL exit status for valid files"; fail=1; }
"$tool" /nonexistent/file >/dev/null; [ $? -eq 1 ] || { echo "FAIL unreadable file must exit 1"; fail=1; }
"$tool" >/dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL no arguments must exit 2"; fail=1; }
[ $fail -eq 0 ] && echo "sip-parse: RFC 4475 corpus handled as INDEX.tsv says"
exit $fail
