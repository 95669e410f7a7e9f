/* ltik.js (ltiaas_auth): carries the LTIAAS ltik from page to page of a tool, in this tab only.
 * It leaves the address bar at once and stays in sessionStorage (never localStorage, never a cookie);
 * same-origin fetch/XMLHttpRequest carry it as "Authorization: Bearer", same-origin links and forms in
 * the URL they go to; nothing cross-origin. On the rejection page of a navigation without it (reload,
 * back), a still-valid one asks again, once. Include it before the tool's scripts; see docs/frontend.md.
 */
(function (window) {
  "use strict";
  if (window.ltiaas && window.ltiaas.version) { return; } // included twice: the first copy does the work

  var document = window.document, location = window.location;
  var KEY = "ltiaas.ltik";
  var RETRIED = "ltiaas.retried"; // the loop guard: URLs asked for again since a page was served
  var MAX_AGE = 86400; // LTIAAS's ltik lifetime in seconds, for a token with "iat" and no "exp"
  var JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

  // --- pure parts

  // Python's unquote_plus, as the server decodes: a malformed escape stays as it is.
  function unquote(text) {
    text = text.replace(/\+/g, " ");
    try { return decodeURIComponent(text); } catch (malformed) {
      return text.replace(/%([0-9A-Fa-f]{2})/g, function (escape, hex) {
        var code = parseInt(hex, 16);
        return code < 128 ? String.fromCharCode(code) : "\uFFFD";
      });
    }
  }

  // {href, ltiks}: href without its ltik fields (the rest kept byte for byte) and their non-empty values,
  // read as the server reads a query: split on "&" only, names decoded ("%6Ctik"), no fragment.
  function strip(href) {
    href = String(href);
    var hashAt = href.indexOf("#"), hash = hashAt < 0 ? "" : href.slice(hashAt);
    var rest = hashAt < 0 ? href : href.slice(0, hashAt), queryAt = rest.indexOf("?");
    var kept = [], ltiks = [], found = false;
    if (queryAt < 0) { return { href: href, ltiks: ltiks }; }
    rest.slice(queryAt + 1).split("&").forEach(function (field) {
      var equals = field.indexOf("="), name = equals < 0 ? field : field.slice(0, equals);
      if (name !== "ltik" && (name.indexOf("%") < 0 || unquote(name) !== "ltik")) {
        if (field) { kept.push(field); }
        return;
      }
      found = true;
      var value = equals < 0 ? "" : unquote(field.slice(equals + 1));
      if (value) { ltiks.push(value); }
    });
    if (!found) { return { href: href, ltiks: ltiks }; }
    return { href: rest.slice(0, queryAt) + (kept.length ? "?" + kept.join("&") : "") + hash, ltiks: ltiks };
  }

  // The one ltik among values; null when none, two differ (the server refuses those) or not a JWS.
  function single(values) {
    var one = values[0] || null;
    for (var i = 1; i < values.length; i++) { if (values[i] !== one) { return null; } }
    return one && one.length <= 8192 && JWS.test(one) ? one : null;
  }

  // An absolute href with the ltik as the last field of its query, before the fragment.
  function withLtik(href, ltik) {
    var url = strip(href).href, hashAt = url.indexOf("#"), hash = hashAt < 0 ? "" : url.slice(hashAt);
    url = hashAt < 0 ? url : url.slice(0, hashAt);
    var joiner = url.indexOf("?") < 0 ? "?" : /[?&]$/.test(url) ? "" : "&";
    return url + joiner + "ltik=" + encodeURIComponent(ltik) + hash;
  }

  // Milliseconds from the unverified claims ("exp", else "iat" + 24 h), or null: a hint, LTIAAS decides.
  function expiry(ltik) {
    try {
      var part = ltik.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      var bytes = window.atob(part + "===".slice((part.length + 3) % 4));
      var claims = JSON.parse(new window.TextDecoder().decode(
        Uint8Array.from(bytes, function (c) { return c.charCodeAt(0); })));
      if (typeof claims.exp === "number" && isFinite(claims.exp)) { return claims.exp * 1000; }
      if (typeof claims.iat === "number" && isFinite(claims.iat)) { return (claims.iat + MAX_AGE) * 1000; }
    } catch (unreadable) { /* no hint */ }
    return null;
  }

  function valid(ltik) {
    var expires = ltik ? expiry(ltik) : null;
    return !!ltik && (expires === null || Date.now() < expires);
  }

  function sameOrigin(href) {
    try {
      var url = new URL(String(href), document.baseURI);
      return url.origin === location.origin && /^https?:$/.test(url.protocol);
    } catch (invalid) { return false; }
  }

  // --- the tab's ltik: sessionStorage (where blocked, only this page's memory)

  function read(key) {
    try { return window.sessionStorage.getItem(key); } catch (blocked) { return null; }
  }

  function write(key, value) {
    try {
      if (value === null) { window.sessionStorage.removeItem(key); } else { window.sessionStorage.setItem(key, value); }
    } catch (blocked) { /* this page keeps it in memory */ }
  }

  var pageLtik = null; // this page's own launch: from its URL, else the tab's when it loaded

  function current() { return pageLtik || single([read(KEY)]); }

  // --- on load

  var found = strip(location.href), here = found.href, fromUrl = single(found.ltiks);
  if (found.ltiks.length) {
    try { window.history.replaceState(window.history.state, "", here); } catch (refused) { /* opaque */ }
  }
  var navigation = window.performance && performance.getEntriesByType
    ? performance.getEntriesByType("navigation")[0] : null;
  var status = navigation ? navigation.responseStatus : undefined;
  // The rejection page marks its <html>; else the navigation's status tells, where exposed.
  var code = document.documentElement.getAttribute("data-ltiaas-error");
  var retried = [];
  try { retried = JSON.parse(read(RETRIED) || "[]"); } catch (garbled) { /* none */ }

  if (!code && status !== 401 && status !== 400) {
    write(RETRIED, null); // a page was served: the loop guard starts afresh
    if (fromUrl) { write(KEY, fromUrl); }
    pageLtik = current();
  } else if (found.ltiks.length) {
    if (fromUrl && read(KEY) === fromUrl) { write(KEY, null); } // this very ltik was refused
  } else if ((code ? code === "MISSING_LTIK" : status === 401) && valid(current()) && retried.indexOf(here) < 0) {
    // A navigation without it (reload, back, a redirect): ask again, once; an expired one leaves the page.
    retried.push(here);
    write(RETRIED, JSON.stringify(retried.slice(-20)));
    location.replace(withLtik(here, current()));
  }

  // --- same-origin fetch and XMLHttpRequest: Authorization, unless the caller set one

  var nativeFetch = window.fetch;
  if (nativeFetch) {
    window.fetch = function (input, init) {
      var ltik = current();
      try {
        var request = window.Request && input instanceof window.Request ? input : null;
        if (ltik && sameOrigin(request ? request.url : input)) {
          var given = init && init.headers !== undefined ? init.headers : request ? request.headers : undefined;
          var headers = new Headers(given);
          if (!headers.has("Authorization")) {
            headers.set("Authorization", "Bearer " + ltik);
            init = Object.assign({}, init, { headers: headers });
          }
        }
      } catch (unusable) { /* fetch reports it */ }
      return nativeFetch.call(window, input, init);
    };
  }

  var XHR = window.XMLHttpRequest && window.XMLHttpRequest.prototype;
  if (XHR) {
    var open = XHR.open, setRequestHeader = XHR.setRequestHeader, send = XHR.send;
    var pending = new WeakMap();
    XHR.open = function (method, url) {
      pending.set(this, { same: sameOrigin(url), authorized: false });
      return open.apply(this, arguments);
    };
    XHR.setRequestHeader = function (name) {
      var state = pending.get(this);
      if (state && String(name).toLowerCase() === "authorization") { state.authorized = true; }
      return setRequestHeader.apply(this, arguments);
    };
    XHR.send = function () {
      var state = pending.get(this), ltik = current();
      if (state && state.same && !state.authorized && ltik && this.readyState === 1) {
        setRequestHeader.call(this, "Authorization", "Bearer " + ltik);
      }
      return send.apply(this, arguments);
    };
  }

  // --- same-origin links and forms: the ltik in the URL they go to

  // Lends element the attribute value until the navigation has read it: the markup never keeps it.
  function lend(element, name, value) {
    var had = element.hasAttribute(name), before = element.getAttribute(name);
    element.setAttribute(name, value);
    window.setTimeout(function () {
      if (had) { element.setAttribute(name, before); } else { element.removeAttribute(name); }
    }, 0);
  }

  function onLink(event) {
    var ltik = current(), path = event.composedPath ? event.composedPath() : [event.target], link = null;
    if (event.defaultPrevented || !ltik || (event.type === "auxclick" && event.button !== 1)) { return; }
    for (var i = 0; i < path.length && !link; i++) {
      if (path[i].localName === "a" || path[i].localName === "area") { link = path[i]; }
    }
    if (!link || !link.hasAttribute("href") || typeof link.href !== "string" || !sameOrigin(link.href)) { return; }
    var target = link.href.split("#"), page = location.href.split("#")[0];
    if (strip(link.href).ltiks.length || (target.length > 1 && target[0] === page)) { return; } // has one; #x
    lend(link, "href", withLtik(link.href, ltik));
  }

  // A form's own properties, not the fields that shadow them (<input name="action"> is common).
  function formProperty(form, name) {
    return Object.getOwnPropertyDescriptor(HTMLFormElement.prototype, name).get.call(form);
  }

  function onForm(form, submitter) {
    var ltik = current();
    var own = function (name) { return !!submitter && submitter.hasAttribute(name); };
    var method = String(own("formmethod") ? submitter.formMethod : formProperty(form, "method")).toLowerCase();
    var action = own("formaction") ? submitter.formAction : formProperty(form, "action");
    if (!ltik || method === "dialog" || !sameOrigin(action)) { return; }
    if (method === "get") { // the fields replace the action's query: the ltik goes in as a field
      var fields = formProperty(form, "elements");
      for (var i = 0; i < fields.length; i++) { if (fields[i].name === "ltik") { return; } }
      var field = document.createElement("input");
      field.type = "hidden";
      field.name = "ltik";
      field.value = ltik;
      form.appendChild(field);
      window.setTimeout(function () { field.remove(); }, 0);
    } else if (!strip(action).ltiks.length) {
      lend(own("formaction") ? submitter : form, own("formaction") ? "formaction" : "action", withLtik(action, ltik));
    }
  }

  window.addEventListener("click", onLink);
  window.addEventListener("auxclick", onLink);
  window.addEventListener("submit", function (event) {
    if (!event.defaultPrevented && event.target.localName === "form") { onForm(event.target, event.submitter); }
  });
  var nativeSubmit = window.HTMLFormElement && HTMLFormElement.prototype.submit;
  if (nativeSubmit) {
    HTMLFormElement.prototype.submit = function () { // form.submit() fires no submit event
      onForm(this, null);
      return nativeSubmit.call(this);
    };
  }

  // --- the API, for code that calls the server some other way

  window.ltiaas = Object.freeze({
    version: "1",
    get ltik() { return current(); }, // this tab's ltik, or null
    get expiresAt() { // a Date from the ltik's claims, or null when unknown
      var expires = current() ? expiry(current()) : null;
      return expires === null ? null : new Date(expires);
    },
    get valid() { return valid(current()); }, // an ltik its claims do not say has expired
    headers: function () { // for a same-origin request only
      return current() ? { Authorization: "Bearer " + current() } : {};
    },
    url: function (url) { // url with the ltik when same-origin (window.open, EventSource, a download)
      var href = new URL(String(url), document.baseURI).href;
      return current() && sameOrigin(href) && !strip(href).ltiks.length ? withLtik(href, current()) : href;
    },
    strip: strip,
    forget: function () { pageLtik = null; write(KEY, null); } // on sign-out
  });
})(window);
