"""A bounded schemathesis run over the GraphQL schema, as three kinds of caller.

Usage: python tests/e2e/outside/fuzz.py http://127.0.0.1:8000/graphql [out-dir]

Fuzzes every query and mutation anonymously, then as a signed-in client and
as a signed-in provider (logOut left out there: it would end the session the
pass runs on). Judged by the check in fuzz_hooks.py alone: no 5xx response, no
INTERNAL error, every error carrying an API.md code. Expected business errors
(FORBIDDEN, BAD_USER_INPUT, ...) are fine. Exits 1 on any failure.
"""

import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
SIGN_UP = """
mutation SignUp($input: SignUpInput!) { signUp(input: $input) { token } }
"""
MAX_EXAMPLES = os.environ.get("FUZZ_MAX_EXAMPLES", "15")
# Fixed, so a failure in CI reproduces; FUZZ_SEED=random explores further.
SEED = os.environ.get("FUZZ_SEED", "20261203")


def sign_up(url: str, role: str) -> str:
    response = httpx.post(
        url,
        json={
            "query": SIGN_UP,
            "variables": {
                "input": {
                    "email": f"fuzz.{role.lower()}.{secrets.token_hex(4)}@example.test",
                    "password": secrets.token_urlsafe(16),
                    "name": f"Fuzz {role.title()}",
                    "role": role,
                    "timezone": "America/New_York",
                }
            },
        },
        timeout=30,
    )
    return response.json()["data"]["signUp"]["token"]


def run_pass(url: str, name: str, out: Path, extra: list[str]) -> dict[str, int]:
    tally_path = out / f"tally-{name}.json"
    log_path = out / f"schemathesis-{name}.log"
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", url,
        "--checks", "no_server_error_nor_internal",
        "--max-examples", MAX_EXAMPLES,
        "--workers", "2",
        "--request-timeout", "30",
        "--no-color",
        "--generation-database", "none",
        "--report", "junit",
        "--report-junit-path", str(out / f"junit-{name}.xml"),
        *([] if SEED == "random" else ["--seed", SEED]),
        *extra,
    ]  # fmt: skip
    env = {
        **os.environ,
        # The hooks read API.md's codes from the app itself (schema.errors).
        "PYTHONPATH": os.pathsep.join(
            [str(HERE), str(HERE.parents[2]), os.environ.get("PYTHONPATH", "")]
        ),
        "SCHEMATHESIS_HOOKS": "fuzz_hooks",
        "RAPPORT_FUZZ_TALLY": str(tally_path),
    }
    with log_path.open("w") as log:
        # In the output folder: schemathesis keeps a cache in its working one.
        run = subprocess.run(
            command, cwd=out, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    tally = json.loads(tally_path.read_text()) if tally_path.exists() else {}
    tally["exit"] = run.returncode
    summary = [line for line in log_path.read_text().splitlines() if line.strip()]
    print(f"fuzz pass {name}: {tally}")
    if run.returncode != 0:
        print("\n".join(summary[-60:]))
    return tally


def main() -> int:
    url = sys.argv[1]
    out = Path(sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp()).resolve()
    out.mkdir(parents=True, exist_ok=True)

    passes = {"anonymous": []}
    for role in ("CLIENT", "PROVIDER"):
        token = sign_up(url, role)
        passes[role.lower()] = [
            "--header", f"Authorization: Bearer {token}",
            "--exclude-name", "Mutation.logOut",
        ]  # fmt: skip

    totals = {"cases": 0, "server_errors": 0, "internal": 0, "uncoded": 0}
    failed = False
    for name, extra in passes.items():
        tally = run_pass(url, name, out, extra)
        for key in totals:
            totals[key] += tally.get(key, 0)
        failed |= tally["exit"] != 0 or not tally.get("cases")

    failed |= bool(totals["server_errors"] or totals["internal"] or totals["uncoded"])
    print(
        f"schemathesis: {totals['cases']} cases over {len(passes)} passes, "
        f"{totals['server_errors']} 5xx, {totals['internal']} INTERNAL, "
        f"{totals['uncoded']} without an API code (reports in {out})"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
