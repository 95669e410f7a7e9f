/* ltik.js (ltiaas_auth): carries the LTIAAS ltik from page to page of a tool, in this tab only.
 *
 * On load: the ltik leaves the address bar (history.replaceState) and is kept in sessionStorage.
 * Then the tool's own (same-origin) fetch and XMLHttpRequest calls carry "Authorization: Bearer <ltik>",
 * its links and form submissions carry it in the query string of the URL they go to (the next page
 * takes it out again at once), and nothing cross-origin ever carries it. On the server's 401 page for a
 * navigation without an ltik (a reload, a back navigation), the tab's ltik, while still valid, is sent
 * again once. Never localStorage, never a cookie. No dependencies; include it before the tool's scripts.
 */
(function (window) {
  "use strict";
  if (window.ltiaas) { return; } // included twice: the first copy does the work

  var document = window.document;
  var location = window.location;
  var KEY = "ltiaas.ltik"; // sessionStorage: this tab and this origin only
  var RETRIED = "ltiaas.retried"; // the URLs re-requested with the tab's ltik since the last page served
  var MAX_AGE = 86400; // seconds: LTIAAS's ltik lifetime, for a token with "iat" but no "exp"
  var JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

  // --- pure parts: URLs and tokens

  // Python's unquote_plus, as the server decodes: a malformed escape stays as it is.
  function unquotePlus(text) {
    text = text.replace(/\+/g, " ");
    try {
      return decodeURIComponent(text);
    } catch (malformed) {
      return text.replace(/%([0-9A-Fa-f]{2})/g, function (escape, hex) {
        var code = parseInt(hex, 16);
        return code < 128 ? String.fromCharCode(code) : "\uFFFD";
      });
    }
  }

  // A field name the server reads as "ltik": the name itself, or one that decodes to it ("%6Ctik").
  function isLtikName(name) {
    return name === "ltik" || (name.indexOf("%") >= 0 && unquotePlus(name) === "ltik");
  }

  // Splits an absolute URL into the URL without any ltik field (other fields and the fragment kept as
  // they are) and the non-empty ltik values of its query, read as the server reads them: only "&"
  // separates fields, and the fragment is never part of the query.
  function strip(href) {
    href = String(href);
    var hashAt = href.indexOf("#");
    var hash = hashAt < 0 ? "" : href.slice(hashAt);
    var rest = hashAt < 0 ? href : href.slice(0, hashAt);
    var queryAt = rest.indexOf("?");
    if (queryAt < 0) { return { href: href, ltiks: [] }; }
    var fields = rest.slice(queryAt + 1).split("&");
    var kept = [], ltiks = [], found = false;
    for (var i = 0; i < fields.length; i++) {
      var equals = fields[i].indexOf("=");
      var name = equals < 0 ? fields[i] : fields[i].slice(0, equals);
      if (!isLtikName(name)) {
        if (fields[i]) { kept.push(fields[i]); }
        continue;
      }
      found = true;
      var value = equals < 0 ? "" : unquotePlus(fields[i].slice(equals + 1));
      if (value) { ltiks.push(value); }
    }
    if (!found) { return { href: href, ltiks: [] }; }
    return { href: rest.slice(0, queryAt) + (kept.length ? "?" + kept.join("&") : "") + hash, ltiks: ltiks };
  }

  // The one ltik of a URL: null when there is none, when two differ (the server refuses those) or
  // when it is not a compact JWS.
  function single(ltiks) {
    var one = null;
    for (var i = 0; i < ltiks.length; i++) {
      if (one !== null && ltiks[i] !== one) { return null; }
      one = ltiks[i];
    }
    return one !== null && one.length <= 8192 && JWS.test(one) ? one : null;
  }

  // href (absolute) with the ltik as the last field of its query, before the fragment.
  function withLtik(href, ltik) {
    var url = strip(href).href;
    var hashAt = url.indexOf("#");
    var hash = hashAt < 0 ? "" : url.slice(hashAt);
    url = hashAt < 0 ? url : url.slice(0, hashAt);
    var joiner = url.indexOf("?") < 0 ? "?" : /[?&]$/.test(url) ? "" : "&";
    return url + joiner + "ltik=" + encodeURIComponent(ltik) + hash;
  }

  // The ltik's expiry in milliseconds, from its unverified claims ("exp", else "iat" + 24 h); null
  // when unknown. The server (LTIAAS) stays the authority: this only spares a request bound to fail.
  function expiry(ltik) {
    try {
      var part = ltik.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      var bytes = window.atob(part + "===".slice((part.length + 3) % 4));
      var claims = JSON.parse(new window.TextDecoder().decode(
        Uint8Array.from(bytes, function (c) { return c.charCodeAt(0); })));
      if (typeof claims.exp === "number" && isFinite(claims.exp)) { return claims.exp * 1000; }
      if (typeof claims.iat === "number" && isFinite(claims.iat)) { return (claims.iat + MAX_AGE) * 1000; }
    } catch (unreadable) { /* no hint: only the server can tell */ }
    return null;
  }

  function valid(ltik) {
    var expires = ltik ? expiry(ltik) : null;
    return !!ltik && (expires === null || Date.now() < expires);
  }

  function sameOrigin(href) {
    try {
      var url = new URL(String(href), document.baseURI);
      return url.origin === location.origin && (url.protocol === "https:" || url.protocol === "http:");
    } catch (invalid) {
      return false;
    }
  }

  // --- the tab's ltik: sessionStorage, or this page's memory where storage is blocked

  function store() {
    try { return window.sessionStorage; } catch (blocked) { return null; }
  }

  function read(key) {
    try { var s = store(); return s ? s.getItem(key) : null; } catch (blocked) { return null; }
  }

  function write(key, value) {
    try {
      var s = store();
      if (s && value === null) { s.removeItem(key); } else if (s) { s.setItem(key, value); }
    } catch (blocked) { /* this page's memory still has it */ }
  }

  var pageLtik = null; // the ltik of this page's own requests (a page keeps the launch it was opened with)

  function current() {
    return pageLtik || single([read(KEY) || ""]);
  }

  // --- on load: out of the address bar, into the tab

  var found = strip(location.href);
  if (found.ltiks.length) {
    try { window.history.replaceState(window.history.state, "", found.href); } catch (refused) { /* opaque */ }
  }
  var here = found.href;
  var navigation = window.performance && performance.getEntriesByType
    ? performance.getEntriesByType("navigation")[0] : null;
  // The server's rejection page says so on its <html> element; else the navigation's own status tells.
  var code = document.documentElement.getAttribute("data-ltiaas-error");
  var refused = code ? true : !!navigation && (navigation.responseStatus === 401 || navigation.responseStatus === 400);
  var fromUrl = single(found.ltiks);
  var retried = [];
  try { retried = JSON.parse(read(RETRIED) || "[]"); } catch (garbled) { retried = []; }

  if (!refused) {
    write(RETRIED, null); // a page was served: the loop guard starts afresh
    if (fromUrl) {
      pageLtik = fromUrl;
      write(KEY, fromUrl);
    } else {
      pageLtik = current();
    }
  } else if (found.ltiks.length) {
    // The server refused the ltik this URL carried (expired, refused by LTIAAS, ambiguous): forget it.
    if (fromUrl && read(KEY) === fromUrl) { write(KEY, null); }
  } else {
    // A navigation without an ltik (a reload, back, a redirect): send it again once with this tab's ltik
    // while that is still valid; else this page (open the activity again from the course) stays.
    var ltik = current();
    var missing = code ? code === "MISSING_LTIK" : navigation && navigation.responseStatus === 401;
    if (missing && valid(ltik) && retried.indexOf(here) < 0) {
      retried.push(here);
      write(RETRIED, JSON.stringify(retried.slice(-20)));
      location.replace(withLtik(here, ltik));
    }
  }

  // --- same-origin requests: fetch and XMLHttpRequest

  var nativeFetch = window.fetch;
  if (nativeFetch) {
    window.fetch = function (input, init) {
      var ltik = current();
      try {
        var request = window.Request && input instanceof window.Request ? input : null;
        if (ltik && sameOrigin(request ? request.url : input)) {
          var own = init && init.headers !== undefined ? init.headers : request ? request.headers : undefined;
          var headers = new Headers(own);
          if (!headers.has("Authorization")) { // the caller's own Authorization wins
            headers.set("Authorization", "Bearer " + ltik);
            init = Object.assign({}, init, { headers: headers });
          }
        }
      } catch (unusable) { /* fetch itself reports a bad input */ }
      return nativeFetch.call(window, input, init);
    };
  }

  var XHR = window.XMLHttpRequest && window.XMLHttpRequest.prototype;
  if (XHR) {
    var open = XHR.open, setRequestHeader = XHR.setRequestHeader, send = XHR.send;
    var pending = new WeakMap(); // request -> {same: bool, authorized: bool}
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

  // --- same-origin navigations: links and forms carry it in the URL they go to

  // Sets attribute name of element to value until the navigation has read it, then puts it back, so
  // the page's markup never holds the ltik.
  function lend(element, name, value) {
    var had = element.hasAttribute(name), before = element.getAttribute(name);
    element.setAttribute(name, value);
    window.setTimeout(function () {
      if (had) { element.setAttribute(name, before); } else { element.removeAttribute(name); }
    }, 0);
  }

  function onLink(event) {
    if (event.defaultPrevented || (event.type === "auxclick" && event.button !== 1)) { return; }
    var path = event.composedPath ? event.composedPath() : [event.target], link = null;
    for (var i = 0; i < path.length && !link; i++) {
      var node = path[i];
      if (node.localName === "a" || node.localName === "area") { link = node.hasAttribute("href") ? node : null; }
    }
    var ltik = current();
    if (!link || !ltik || typeof link.href !== "string" || !sameOrigin(link.href)) { return; }
    var target = strip(link.href);
    if (target.ltiks.length) { return; } // the page put an ltik there itself
    var hashAt = link.href.indexOf("#"), hereAt = location.href.indexOf("#");
    if (hashAt >= 0 && link.href.slice(0, hashAt) === (hereAt < 0 ? location.href : location.href.slice(0, hereAt))) {
      return; // a fragment of this very page: no request at all
    }
    lend(link, "href", withLtik(link.href, ltik));
  }

  function onForm(form, submitter) {
    var ltik = current();
    var own = function (name) { return submitter && submitter.hasAttribute && submitter.hasAttribute(name); };
    var method = (own("formmethod") ? submitter.formMethod : form.method || "get").toLowerCase();
    var action = own("formaction") ? submitter.formAction : form.action;
    if (!ltik || method === "dialog" || !sameOrigin(action)) { return; }
    if (method === "get") { // the form's fields replace the action's query: the ltik goes in as a field
      for (var i = 0; i < form.elements.length; i++) {
        if (form.elements[i].name === "ltik") { return; }
      }
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

  // --- the API, for the tool's own code and for libraries that do not go through fetch or XHR

  window.ltiaas = Object.freeze({
    version: "1",
    /** This tab's ltik, or null. */
    get ltik() { return current(); },
    /** When the ltik expires (a Date, from its claims), or null when unknown. */
    get expiresAt() {
      var ltik = current(), expires = ltik ? expiry(ltik) : null;
      return expires === null ? null : new Date(expires);
    },
    /** Whether the tab has an ltik that its claims do not say is expired. */
    get valid() { return valid(current()); },
    /** The headers for a same-origin request: {Authorization: "Bearer <ltik>"}, or {} without one. */
    headers: function () {
      var ltik = current();
      return ltik ? { Authorization: "Bearer " + ltik } : {};
    },
    /** url with the ltik in its query when it is same-origin (for window.open, EventSource, downloads). */
    url: function (url) {
      var href = new URL(String(url), document.baseURI).href, ltik = current();
      return ltik && sameOrigin(href) && !strip(href).ltiks.length ? withLtik(href, ltik) : href;
    },
    /** {href, ltiks}: an absolute URL without its ltik fields, and their values as the server reads them. */
    strip: strip,
    /** Forget this tab's ltik (on sign-out). */
    forget: function () {
      pageLtik = null;
      write(KEY, null);
    }
  });
})(window);
