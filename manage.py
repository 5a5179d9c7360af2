"""Command line: `python manage.py export-schema | create-staff EMAIL NAME`."""

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

SCHEMA_FILE = Path(__file__).with_name("schema.graphql")


def schema_sdl() -> str:
    from schema import build_schema

    return build_schema().as_str().rstrip() + "\n"


def export_schema() -> None:
    SCHEMA_FILE.write_text(schema_sdl())
    print(f"wrote {SCHEMA_FILE.name}")


async def create_staff(email: str, name: str, password: str) -> None:
    import database
    from demo import create_staff as create

    await database.open_database()
    try:
        user_id = await create(email, name, password)
        print(f"created staff user id={user_id}")
    finally:
        await database.close_database()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("export-schema", help="write schema.graphql")
    staff = commands.add_parser("create-staff", help="add a STAFF account")
    staff.add_argument("email")
    staff.add_argument("name")
    args = parser.parse_args(argv)

    if args.command == "export-schema":
        export_schema()
    elif args.command == "create-staff":
        password = getpass.getpass("Password for the staff account: ")
        try:
            asyncio.run(create_staff(args.email, args.name, password))
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
