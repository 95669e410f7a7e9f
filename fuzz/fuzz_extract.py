"""atheris harness: the finders of ``extract.py`` never raise anything but ``AmbiguousLtik``, and read the
query exactly as ``urllib.parse.parse_qsl`` does (what Starlette and werkzeug hand the app).

Run: ``python fuzz/fuzz_extract.py -runs=20000``.
"""

from __future__ import annotations

import json
import sys
from urllib.parse import parse_qsl

import atheris

with atheris.instrument_imports():
    from _common import Provider, query, token

    from ltiaas_auth.errors import AmbiguousLtik
    from ltiaas_auth.extract import (
        body_source,
        find_ltik,
        from_authorization,
        from_form,
        from_header,
        from_json,
        from_query,
    )


def test_one_input(data: bytes) -> None:
    fdp: Provider = atheris.FuzzedDataProvider(data)
    text = query(fdp)
    expected = [value for name, value in parse_qsl(text, keep_blank_values=True) if name == "ltik" and value]
    if from_query(text) != expected or from_form(text.encode("latin-1")) != expected:
        raise AssertionError(f"from_query disagrees with parse_qsl on {text!r}")

    scheme = str(
        fdp.PickValueInList(["Bearer ", "bearer  ", "LTIK-AUTH-V1 Token=", "Basic ", "", "LTIK-AUTH-V2 "])
    )
    authorization = [scheme + token(fdp) for _ in range(fdp.ConsumeIntInRange(0, 2))]
    header = [",".join(token(fdp) for _ in range(fdp.ConsumeIntInRange(0, 3)))]
    body = json.dumps({"ltik": token(fdp)}).encode() if fdp.ConsumeBool() else fdp.ConsumeBytes(100)
    for value in authorization:
        try:
            found = from_authorization(value)
        except AmbiguousLtik:
            continue
        if found == "":
            raise AssertionError("an empty token counts as absent")
    if any(not item for value in header for item in from_header(value)):
        raise AssertionError("from_header returned an empty item")
    from_json(body)
    body_source(text, ("form", "json"))
    try:
        found = find_ltik(authorization, expected, header, body, "json")
    except AmbiguousLtik:
        return
    every = [from_authorization(value) for value in authorization] + expected
    every += [item for value in header for item in from_header(value)] + [from_json(body)]
    if {value for value in every if value} != ({found} if found else set()):
        raise AssertionError("find_ltik returned a token some source disagrees with")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
