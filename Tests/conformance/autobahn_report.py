"""Reads the Autobahn|Testsuite report (index.json): prints passed / non-strict / informational /
unimplemented per case group, lists every case that FAILED or closed with a WRONG CODE or
UNCLEAN, and exits 1 when there is one."""
import json
import sys
from collections import Counter, defaultdict

BAD_CLOSE = {"WRONG CODE", "UNCLEAN"}


def main(path):
    with open(path) as handle:
        report = json.load(handle)
    results = next(iter(report.values()))
    groups = defaultdict(Counter)
    bad = []
    for case, result in results.items():
        group = ".".join(case.split(".")[:2]) if case.split(".")[0] in ("12", "13") else case.split(".")[0]
        behaviour, close = result["behavior"], result["behaviorClose"]
        groups[group][behaviour] += 1
        if behaviour == "FAILED" or close in BAD_CLOSE:
            bad.append(f"{case}: {behaviour}, close {close}")
    print(f"{'group':>6} | cases | OK | NON-STRICT | INFORMATIONAL | UNIMPLEMENTED | FAILED")
    key = lambda group: [int(part) for part in group.split(".")]
    for group in sorted(groups, key=key):
        counts = groups[group]
        print(f"{group:>6} | {sum(counts.values()):>5} | {counts['OK']:>2} | {counts['NON-STRICT']:>10} | "
              f"{counts['INFORMATIONAL']:>13} | {counts['UNIMPLEMENTED']:>13} | {counts['FAILED']:>6}")
    total = sum(sum(counts.values()) for counts in groups.values())
    if bad:
        print(f"autobahn: {len(bad)} of {total} cases failed:")
        for line in sorted(bad, key=lambda line: key(line.split(":")[0])):
            print("  " + line)
        return 1
    print(f"autobahn: all {total} cases passed (no FAILED, no WRONG CODE or UNCLEAN close)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
