#!/usr/bin/env python3
"""Says how many tests were skipped because this host cannot run guests on /dev/kvm.

Usage: kvm-skips.py MARKER [ROOT]

Counts the <skipped message="needs /dev/kvm: ..."> test cases (kvm-runtime's @RequiresKvm) in
every module's target/surefire-reports/TEST-*.xml and target/failsafe-reports/TEST-*.xml that is
not older than MARKER, a file made before the test run, so that reports of earlier runs do not
count. Prints one line; bin/stratus test runs it after mvn.
"""
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

PREFIX = "needs /dev/kvm: "


def reports(root, since):
    for pattern in ("*/target/surefire-reports/TEST-*.xml", "*/target/failsafe-reports/TEST-*.xml",
                    "*/*/target/surefire-reports/TEST-*.xml", "*/*/target/failsafe-reports/TEST-*.xml"):
        for path in sorted(root.glob(pattern)):
            if path.stat().st_mtime_ns >= since:
                yield path


def kvm_skips(root, since):
    """The number of test cases skipped for /dev/kvm and the first one's reason."""
    count, reason = 0, None
    for path in reports(root, since):
        try:
            cases = ET.parse(path).getroot().iter("testcase")
        except ET.ParseError:
            continue  # a report cut short by an interrupted run
        for case in cases:
            skipped = case.find("skipped")
            message = skipped.get("message", "") if skipped is not None else ""
            if message.startswith(PREFIX):
                count += 1
                reason = reason or message[len(PREFIX):]
    return count, reason


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: kvm-skips.py MARKER [ROOT]")
    since = Path(sys.argv[1]).stat().st_mtime_ns
    root = Path(sys.argv[2] if len(sys.argv) == 3 else ".")
    count, reason = kvm_skips(root, since)
    if count:
        tests = "1 test needs" if count == 1 else f"{count} tests need"
        print(f"{tests} /dev/kvm and {'was' if count == 1 else 'were'} skipped: {reason}")
    elif os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("0 tests needed /dev/kvm and were skipped")
    else:
        print("0 tests were skipped for /dev/kvm, yet this host cannot open it: did the tests that need it run?")


if __name__ == "__main__":
    main()
