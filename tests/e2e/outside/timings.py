"""What the outside run cost the server: requests, median and slowest, from its
access log. Usage: python timings.py server.log"""

import re
import statistics
import sys

LINE = re.compile(
    r"path=(\S+) status=(\d+) duration_ms=([\d.]+) operation=(\S+)"
)


def main(path: str) -> None:
    seen = []
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            found = LINE.search(line)
            if found:
                path, status, ms, operation = found.groups()
                # Not GraphQL (an asset, /readyz): the path says what it was.
                what = path if operation == "-" else operation
                seen.append((float(ms), what, status))
    if not seen:
        print("timings: no access lines in the server's log")
        return
    seen.sort(reverse=True)
    median = statistics.median(ms for ms, _, _ in seen)
    print(f"timings: {len(seen)} requests, median {median:.1f} ms; slowest:")
    for ms, operation, status in seen[:5]:
        print(f"  {ms:8.1f} ms  {operation} (HTTP {status})")
    others = [s for s in seen if s[1] not in ("mutation:logIn", "mutation:signUp")]
    if others and others[0] != seen[0]:
        ms, operation, status = others[0]
        print(f"  slowest besides password hashing: {ms:.1f} ms  {operation}")


if __name__ == "__main__":
    main(sys.argv[1])
