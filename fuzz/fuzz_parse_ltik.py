"""atheris harness: ``parse_ltik`` on any string gives an ``Ltik`` or ``InvalidLtik``, nothing else.

Run: ``python fuzz/fuzz_parse_ltik.py -runs=20000`` (libFuzzer options; see fuzz/README.md).
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    import jwt  # noqa: F401 - instrumented for coverage feedback
    from _common import Provider, token

    from ltiaas_auth import InvalidLtik, parse_ltik
    from ltiaas_auth._syntax import MAX_LTIK_SIZE, is_compact_jws


def test_one_input(data: bytes) -> None:
    fdp: Provider = atheris.FuzzedDataProvider(data)
    raw = token(fdp)
    check_expiry = fdp.ConsumeBool()
    try:
        ltik = parse_ltik(raw, check_expiry=check_expiry)
    except InvalidLtik as error:
        if len(raw) >= 12 and raw in f"{error} {error!r}":
            raise AssertionError("an error shows the token") from None
        return
    if not (is_compact_jws(raw) and len(raw) <= MAX_LTIK_SIZE and ltik.raw == raw):
        raise AssertionError("accepted something that is not a compact JWS within the cap")
    if raw in repr(ltik):
        raise AssertionError("repr shows the token")
    ltik.expired()
    ltik.seconds_left()


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
