"""``ltiaas_auth.frontend``: the path of ``ltik.js``, and ``script_tag()`` inlining it as safe markup.

The script's behaviour is proven in a real browser (``test_frontend_browser.py``); here: the Python side,
the template engines that must take the tag as markup, the nonce that must not break out, the size.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from importlib.resources import files

import jinja2
import markupsafe
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ltiaas_auth.frontend import ScriptTag, script_path, script_tag

SOURCE = script_path().read_text(encoding="utf-8")


def test_the_script_is_package_data() -> None:
    assert script_path().is_file()
    assert script_path().name == "ltik.js"
    packaged = files("ltiaas_auth").joinpath("static", "ltiaas_auth", "ltik.js")
    assert packaged.read_text(encoding="utf-8") == SOURCE


def test_the_script_stays_a_few_kilobytes() -> None:
    raw = script_path().read_bytes()
    assert len(raw) < 12 * 1024, len(raw)
    assert len(gzip.compress(raw)) < 5 * 1024


def test_the_script_is_plain_readable_source_without_dependencies() -> None:
    assert re.search(r"\bimport\b|\brequire\(", SOURCE) is None  # no modules, no bundler
    assert re.search(r"localStorage\s*[.\[]", SOURCE) is None  # named in a comment, never used
    assert "document.cookie" not in SOURCE
    assert max(len(line) for line in SOURCE.splitlines()) <= 120  # not minified


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_script_parses() -> None:
    result = subprocess.run(
        ["node", "--check", str(script_path())], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("nonce", "attribute"),
    [
        pytest.param(None, "<script>", id="none"),
        pytest.param("abc", '<script nonce="abc">', id="plain"),
        pytest.param("q+/Zx09==", '<script nonce="q+/Zx09==">', id="base64"),
        pytest.param("q-_Zx09", '<script nonce="q-_Zx09">', id="base64url"),
    ],
)
def test_script_tag_inlines_the_file(nonce: str | None, attribute: str) -> None:
    tag = script_tag(nonce)
    assert isinstance(tag, str)
    assert isinstance(tag, ScriptTag)
    assert tag == f"{attribute}{SOURCE}</script>"
    assert tag.__html__() is tag
    assert tag.count("</script") == 1


@pytest.mark.parametrize(
    "nonce",
    [
        pytest.param("", id="empty"),
        pytest.param('x" onload="alert(1)', id="quote"),
        pytest.param("x><script>alert(1)</script>", id="element"),
        pytest.param("a b", id="space"),
        pytest.param("abc===", id="three-pads"),
        pytest.param("ab=c", id="pad-inside"),
        pytest.param("x\n", id="newline"),
        pytest.param("é", id="non-ascii"),
        pytest.param("a" * 257, id="too-long"),
        pytest.param(b"abc", id="bytes"),
    ],
)
def test_a_nonce_that_could_break_out_is_refused(nonce: object) -> None:
    with pytest.raises(ValueError, match="nonce must be a base64 or base64url value"):
        script_tag(nonce)  # type: ignore[arg-type]


@given(st.text(max_size=40))
def test_no_nonce_ever_leaves_the_attribute(nonce: str) -> None:
    try:
        tag = script_tag(nonce)
    except ValueError:
        return
    opening = tag[: tag.index(">") + 1]
    assert opening == f'<script nonce="{nonce}">'
    assert re.fullmatch(r'<script nonce="[A-Za-z0-9+/_=-]+">', opening)


def test_template_engines_take_it_as_markup() -> None:
    tag = script_tag("n0nce")
    assert markupsafe.escape(tag) == tag
    assert markupsafe.Markup("<head>{}</head>").format(tag) == f"<head>{tag}</head>"
    environment = jinja2.Environment(autoescape=True)
    assert environment.from_string("{{ tag }}").render(tag=tag) == tag
    assert environment.from_string("{{ text }}").render(text=str(tag)) != tag  # a plain str is escaped


def test_django_templates_take_it_as_markup() -> None:
    # A standalone Engine: no Django settings needed, none configured for the rest of the session.
    from django.template import Context, Engine
    from django.utils.html import conditional_escape

    tag = script_tag("n0nce")
    assert conditional_escape(tag) == tag
    engine = Engine()
    assert engine.from_string("{{ tag }}").render(Context({"tag": tag})) == tag
    assert engine.from_string("{{ text }}").render(Context({"text": str(tag)})) != tag  # a str is escaped


def test_the_file_cannot_be_inlined_if_it_would_end_its_element() -> None:
    assert "</script" not in SOURCE.lower()
    assert "<!--" not in SOURCE
