"""``LtiaasConfig``'s checks (DESIGN §3.1) and the credential findings of the 0.1.0 review (§3.4): options
keyword-only, finite and typed; copy and pickle; one ``CredentialScope`` on two threads; no whole header in
a traceback's locals; a half-built credential's repr; ``None`` given to public calls; ``LtiaasAuth`` and
two accounts on one origin."""

from __future__ import annotations

import copy
import math
import pickle
import ssl
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from ltiaas_auth import (
    ForeignOriginError,
    InvalidCredential,
    InvalidLtik,
    Launch,
    LtiaasAuth,
    LtiaasConfig,
    MemoryServiceKeyStore,
    NoLaunchContext,
    UpstreamError,
    api_key_context,
    auth_header,
    launch_context,
    parse_ltik,
    service_context,
)
from ltiaas_auth.context import credential_var, make_launch
from ltiaas_auth.credentials import ApiKeyCredential, ServiceCredential
from ltiaas_auth.jobs import stored_service_context
from ltiaas_auth.testing import FakeLtiaas

KEY = "api-key-123"
URL = "https://tool.ltiaas.com"


@pytest.fixture
def fake() -> Iterator[FakeLtiaas]:
    with FakeLtiaas() as running:
        yield running


# --- options


def test_options_after_base_url_are_keyword_only():
    with pytest.raises(TypeError):
        LtiaasConfig(KEY, URL, 120)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("timeout", math.inf, id="timeout-inf"),
        pytest.param("timeout", math.nan, id="timeout-nan"),
        pytest.param("timeout", -1, id="timeout-negative"),
        pytest.param("timeout", 0, id="timeout-zero"),
        pytest.param("idtoken_ttl", math.inf, id="idtoken_ttl-inf"),
        pytest.param("idtoken_ttl", -1, id="idtoken_ttl-negative"),
        pytest.param("ltik_max_age", math.inf, id="ltik_max_age-inf"),
        pytest.param("leeway", math.nan, id="leeway-nan"),
        pytest.param("refusal_ttl", -1, id="refusal_ttl-negative"),
        pytest.param("refusal_ttl", math.inf, id="refusal_ttl-inf"),
        pytest.param("cache_size", 0, id="cache_size-zero"),
        pytest.param("cache_max_bytes", 1024, id="cache_max_bytes-too-small"),
    ],
)
def test_numbers_out_of_range_are_a_value_error_naming_the_option(name, value):
    with pytest.raises(ValueError, match=name):
        LtiaasConfig(KEY, URL, **{name: value})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("api_key", None, id="api_key-none"),
        pytest.param("base_url", None, id="base_url-none"),
        pytest.param("timeout", "10", id="timeout-str"),
        pytest.param("timeout", True, id="timeout-bool"),
        pytest.param("idtoken_ttl", None, id="idtoken_ttl-none"),
        pytest.param("refusal_ttl", "60", id="refusal_ttl-str"),
        pytest.param("cache_size", 1.5, id="cache_size-float"),
        pytest.param("cache_size", True, id="cache_size-bool"),
        pytest.param("cache_max_bytes", 2.0**25, id="cache_max_bytes-float"),
        pytest.param("ssl_context", "/etc/ssl/certs/ca.pem", id="ssl_context-path"),
        pytest.param("clock", 12.0, id="clock-number"),
        pytest.param("idtoken_store", object(), id="idtoken_store-object"),
        pytest.param("service_keys", "keys.sqlite3", id="service_keys-str"),
    ],
)
def test_wrong_types_are_a_type_error_naming_the_option(name, value):
    options: dict[str, Any] = {"api_key": KEY, "base_url": URL, name: value}
    with pytest.raises(TypeError, match=name):
        LtiaasConfig(**options)


def test_timeout_inf_was_accepted_and_broke_every_fetch():
    """0.1.0 accepted timeout=inf, and every idtoken fetch was then a 500 (socket timeouts must be
    finite); now it is refused when the config is made."""
    with pytest.raises(ValueError, match="timeout"):
        LtiaasConfig(KEY, URL, timeout=float("inf"))


def test_defaults_of_the_new_options():
    config = LtiaasConfig(KEY, URL)
    assert (config.refusal_ttl, config.cache_max_bytes, config.ssl_context) == (60, 32 * 2**20, None)


def test_ssl_context_is_kept_and_takes_no_part_in_equality():
    context = ssl.create_default_context()
    with_context = LtiaasConfig(KEY, URL, ssl_context=context)
    assert with_context.ssl_context is context
    assert with_context == LtiaasConfig(KEY, URL)
    assert "ssl" not in repr(with_context).lower()


def test_from_env_reads_ltiaas_ca_file(tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    config = LtiaasConfig.from_env({"LTIAAS_API_KEY": KEY, "LTIAAS_URL": URL, "LTIAAS_CA_FILE": str(path)})
    assert isinstance(config.ssl_context, ssl.SSLContext)
    assert config.ssl_context.get_ca_certs()  # the private CA, loaded


def test_from_env_names_an_unreadable_ca_file_never_its_path(tmp_path):
    missing = str(tmp_path / "secret-name" / "ca.pem")
    with pytest.raises(ValueError, match="LTIAAS_CA_FILE") as info:
        LtiaasConfig.from_env({"LTIAAS_API_KEY": KEY, "LTIAAS_URL": URL, "LTIAAS_CA_FILE": missing})
    assert "secret-name" not in str(info.value)


# --- copy, pickle, equality


@pytest.mark.parametrize("copier", [copy.copy, copy.deepcopy], ids=["copy", "deepcopy"])
def test_a_copy_is_equal_with_its_own_cache_and_shares_context_stores_and_clock(copier):
    context, store, clock = ssl.create_default_context(), MemoryServiceKeyStore(), (lambda: 1e9)
    config = LtiaasConfig(KEY, URL, ssl_context=context, service_keys=store, clock=clock, timeout=3)
    copied = copier(config)
    assert copied == config
    assert copied._idtokens is not config._idtokens
    assert copied.ssl_context is context
    assert copied.service_keys is store
    assert copied.clock is clock


def test_pickle_works_at_the_defaults():
    config = LtiaasConfig(KEY, URL, timeout=3, refusal_ttl=10)
    again = pickle.loads(pickle.dumps(config))  # noqa: S301 - our own bytes
    assert again == config
    assert again._idtokens is not config._idtokens


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("ssl_context", ssl.create_default_context(), id="ssl_context"),
        pytest.param("service_keys", MemoryServiceKeyStore(), id="service_keys"),
        pytest.param("clock", lambda: 0.0, id="clock"),
    ],
)
def test_pickle_refuses_shared_resources_naming_the_field(name, value):
    with pytest.raises(TypeError, match=name):
        pickle.dumps(LtiaasConfig(KEY, URL, **{name: value}))


def test_equality_ignores_ssl_context_stores_and_clock():
    plain = LtiaasConfig(KEY, URL)
    dressed = LtiaasConfig(
        KEY,
        URL,
        ssl_context=ssl.create_default_context(),
        service_keys=MemoryServiceKeyStore(),
        clock=lambda: 0,
    )
    assert plain == dressed
    assert hash(plain) == hash(dressed)
    assert plain != LtiaasConfig(KEY, URL, refusal_ttl=5)


# --- credentials


def test_one_scope_entered_from_two_threads_never_leaves_the_credential_set():
    with FakeLtiaas() as fake:
        scope = launch_context(LtiaasConfig(KEY, URL), fake.launch())
    entered, leave = threading.Barrier(2), threading.Barrier(2)
    after: list[object] = []
    errors: list[BaseException] = []

    def worker(first_out: bool) -> None:
        try:
            with scope:
                entered.wait(5)
                if not first_out:
                    leave.wait(5)  # the other thread leaves first
            if first_out:
                leave.wait(5)
            after.append(credential_var.get())
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(flag,)) for flag in (True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert after == [None, None]


def test_one_scope_nested_in_one_context_restores_each_level():
    outer, inner = api_key_context(LtiaasConfig(KEY, URL)), api_key_context(LtiaasConfig("other", URL))
    with outer:
        with inner:
            with outer:
                assert credential_var.get() is outer.credential
            assert credential_var.get() is inner.credential
        assert credential_var.get() is outer.credential
    assert credential_var.get() is None


def test_no_whole_header_in_the_locals_of_a_failed_fetchs_traceback():
    """capture_locals tracebacks (what Sentry and structured loggers record) print every frame's locals:
    none of them holds the Authorization value, the API key or the ltik."""
    with FakeLtiaas() as fake:
        ltik = fake.launch()
    config = LtiaasConfig("traceback-api-key", "http://127.0.0.1:9", timeout=1)
    with launch_context(config, ltik) as launch:
        try:
            launch.idtoken()
        except UpstreamError as error:
            below_this_test = traceback.walk_tb(error.__traceback__.tb_next if error.__traceback__ else None)
            text = "".join(traceback.StackSummary.extract(below_this_test, capture_locals=True).format())
            text += repr(error) + str(error)
        else:
            pytest.fail("the fetch to a closed port succeeded")
    assert "LTIK-AUTH-V2" not in text
    assert "traceback-api-key" not in text
    assert ltik not in text


def test_credentials_hold_no_header_attribute():
    config = LtiaasConfig(KEY, URL)
    with FakeLtiaas() as fake:
        launch = make_launch(config, fake.launch())
    for credential in (launch, ServiceCredential(config, "svc-key"), ApiKeyCredential(config)):
        slots = {name for cls in type(credential).__mro__ for name in getattr(cls, "__slots__", ())}
        held = [getattr(credential, name) for name in slots]
        assert not any(isinstance(value, str) and KEY in value for value in held if value is not None)
        assert credential.authorization.endswith(
            (launch.ltik.raw, "svc-key", KEY)
        )  # built on demand, exactly as before


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: Launch.__new__(Launch), id="launch"),
        pytest.param(lambda: ServiceCredential.__new__(ServiceCredential), id="service"),
        pytest.param(lambda: ApiKeyCredential.__new__(ApiKeyCredential), id="api-key"),
    ],
)
def test_a_half_built_credentials_repr_never_raises(make):
    assert "base_url=None" in repr(make())


def test_a_failed_credential_init_prints_in_a_capture_locals_traceback():
    try:
        Launch(LtiaasConfig(KEY, URL), "not parsed")  # type: ignore[arg-type]
    except TypeError as error:
        text = "".join(traceback.TracebackException.from_exception(error, capture_locals=True).format())
    assert "Launch(ltik=None" in text


def ltik() -> str:
    with FakeLtiaas() as fake:
        return fake.launch()


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        pytest.param(lambda: launch_context(None, ltik()), TypeError, id="launch_context-config"),  # type: ignore[arg-type]
        pytest.param(
            lambda: launch_context(LtiaasConfig(KEY, URL), None), InvalidLtik, id="launch_context-ltik"
        ),  # type: ignore[arg-type]
        pytest.param(lambda: service_context(None, "key"), TypeError, id="service_context-config"),  # type: ignore[arg-type]
        pytest.param(
            lambda: service_context(LtiaasConfig(KEY, URL), None),
            InvalidCredential,
            id="service_context-key",  # type: ignore[arg-type]
        ),
        pytest.param(lambda: api_key_context(None), TypeError, id="api_key_context"),  # type: ignore[arg-type]
        pytest.param(lambda: make_launch(None, ltik()), TypeError, id="make_launch"),  # type: ignore[arg-type]
        pytest.param(
            lambda: stored_service_context(None, "platform"), TypeError, id="stored_service_context"
        ),  # type: ignore[arg-type]
        pytest.param(lambda: LtiaasAuth("https://tool.ltiaas.com"), TypeError, id="LtiaasAuth"),  # type: ignore[arg-type]
        pytest.param(lambda: parse_ltik(None), InvalidLtik, id="parse_ltik"),  # type: ignore[arg-type]
        pytest.param(lambda: Launch(None, None), TypeError, id="Launch"),  # type: ignore[arg-type]
    ],
)
def test_public_calls_given_none_raise_a_typed_error(call: Callable[[], object], expected: type[Exception]):
    with pytest.raises(expected):
        call()


def test_ltiaas_auth_refuses_another_account_on_the_same_origin_before_sending(fake):
    """Two LTIAAS accounts on one origin: a launch of account A inside a client pinned to account B's
    config raises ForeignOriginError and nothing reaches the server."""
    ours = fake.config()
    theirs = LtiaasConfig("another-accounts-key", fake.url)
    before = len(fake.calls)
    with (
        launch_context(ours, fake.launch()),
        httpx.Client(auth=LtiaasAuth(theirs), trust_env=False) as client,
    ):
        with pytest.raises(ForeignOriginError):
            client.get(f"{fake.url}/api/idtoken")
        assert auth_header().startswith(f"LTIK-AUTH-V2 {fake.api_key}:")
    assert len(fake.calls) == before
    with launch_context(ours, fake.launch()), httpx.Client(auth=LtiaasAuth(ours), trust_env=False) as client:
        assert client.get(f"{fake.url}/api/idtoken").status_code == 200  # the same account: sent


def test_no_credential_is_still_no_launch_context():
    with pytest.raises(NoLaunchContext):
        LtiaasAuth(LtiaasConfig(KEY, URL))(httpx.Request("GET", f"{URL}/api/idtoken"))
