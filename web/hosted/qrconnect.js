// The hosted login page: ask the desktop companion first, else the QR code.
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("cfg").textContent);
  var T = cfg.text;
  var $ = function (id) { return document.getElementById(id); };
  var uuid = ""; // the QR ticket, created when the QR code is first shown
  var key = ""; // only this page can collect the ticket's code
  var daemon = null; // {base, uuid, nickname}
  var polling = 0; // generation of the QR long-poll loop
  var who = ""; // the daemon's account, once it offered "Continue as …"
  var limits = {confirm: 0, cooldown: 0}; // the daemon's, in seconds
  var ticking = 0; // the one countdown's interval
  var asking = null; // the AbortController of the pending authorize

  function show(id) {
    ["fast", "waiting", "qr"].forEach(function (s) { $(s).hidden = s !== id; });
  }
  function say(msg, isErr) {
    $("status").textContent = msg || "";
    $("status").className = isErr ? "err" : "";
  }
  function go(url) {
    if (cfg.self_redirect) { location.href = url; } else { window.top.location.href = url; }
  }
  function withTimeout(ms) {
    var c = new AbortController();
    setTimeout(function () { c.abort(); }, ms);
    return c.signal;
  }
  function local(base, api, jsdata, ms, signal) {
    return fetch(base + "/api/" + api, {
      method: "POST", headers: {"Content-Type": "application/json"}, credentials: "omit",
      body: JSON.stringify({apiname: api === "check-login" ? "qrconnectchecklogin" : "qrconnectfastauthorize", jsdata: jsdata}),
      signal: ms ? withTimeout(ms) : signal
    }).then(function (r) { return r.json(); });
  }

  // countdown shows text(seconds left) in el every second for secs, then
  // calls done; a new countdown ends the last one.
  function countdown(el, secs, text, done) {
    clearInterval(ticking);
    var end = Date.now() + secs * 1000;
    function tick() {
      var left = Math.ceil((end - Date.now()) / 1000);
      if (left <= 0) { clearInterval(ticking); if (done) done(); return; }
      el.textContent = text(left);
    }
    tick();
    ticking = setInterval(tick, 1000);
  }
  function mmss(s) { return Math.floor(s / 60) + ":" + ("0" + s % 60).slice(-2); }

  // refused shows the QR code with msg after a confirmation that did not
  // allow, and "Continue as …" again once the daemon's cooldown (wait
  // seconds) is over.
  function refused(msg, wait) {
    qr(msg);
    if (!who) return;
    var b = $("retry");
    b.hidden = false;
    b.disabled = true;
    countdown(b, wait || limits.cooldown || 1, function (left) {
      return T.continueIn.replace("%s", who).replace("%d", left);
    }, function () { b.disabled = false; b.textContent = T.continueAs.replace("%s", who); });
  }
  var req = {appid: cfg.appid, scope: cfg.scope, redirect_uri: cfg.redirect_uri, state: cfg.state};

  // Ports in order; the first daemon that answers counts. It resolves
  // {base, r} for a daemon's answer, {blocked: true} when a request got
  // none in time (the browser holding it for its permission prompt), and
  // null when every port refused at once (nothing listens: no daemon).
  function probe(i) {
    if (i >= cfg.ports.length) return Promise.resolve(null);
    var base = "https://" + cfg.domain + ":" + cfg.ports[i];
    return local(base, "check-login", req, 1500).then(function (r) {
      return {base: base, r: r};
    }, function (e) {
      if (e && e.name === "AbortError") return {blocked: true};
      return probe(i + 1);
    });
  }

  // why is what the page says when the daemon's answer p is not "Continue".
  function why(p) {
    if (!p || p.blocked) return T.notRunning;
    switch (p.r.errcode) {
      case 10061: return p.r.reason === "paused" ? T.paused : T.locked;
      case 10060: return T.signedOut;
      case 10063: return T.offline;
      case 10067: return T.refused + " " + (p.r.errmsg || "");
      default: return T.useQRNow;
    }
  }

  // answer acts on a probe: "Continue as …", or the QR code with the reason.
  function answer(p) {
    if (p && p.r && p.r.errcode === 0) { say(""); offer(p); return; }
    qr(why(p), p && p.r && p.r.errcode === 10067);
  }

  function fast() {
    say(T.checking);
    probe(0).then(answer);
  }

  // offer shows "Continue as …" for the daemon that answered p.
  function offer(p) {
    polling++; // a QR long poll, if any, stops
    daemon = {base: p.base, uuid: p.r.jsdata.authorize_uuid};
    who = p.r.jsdata.nickname;
    limits = {confirm: p.r.jsdata.confirm_seconds || 0, cooldown: p.r.jsdata.cooldown_seconds || 0};
    $("retry").hidden = true;
    $("continue").textContent = T.continueAs.replace("%s", who);
    avatar(p.r.jsdata.nickname, p.r.jsdata.headimgurl);
    show("fast");
    $("continue").focus();
  }

  // Chrome's Local Network Access: a page on a public origin may reach the
  // daemon on loopback only once the person allows it, in a prompt that
  // can wait forever. The page asks the daemon first and says it is
  // looking; no QR ticket is made while "Continue as …" may come. Denied
  // (or not delegated to this frame) is the QR code at once. The
  // permission is blamed only when no daemon answered and the browser
  // really held the request back: its prompt is up (no answer within
  // 700 ms and the permission still unanswered), or it refused (the
  // permission turned "denied"). Chromium reports "prompt" for loopback
  // pages too, where nothing is held and the state stays "prompt": there
  // the page states the daemon's own reason. "Continue as …" comes the
  // moment the person allows, whatever the page said before.
  function localAccess() {
    var q = navigator.permissions && navigator.permissions.query;
    if (!q) return Promise.resolve(null);
    return navigator.permissions.query({name: "loopback-network"})
      .catch(function () { return navigator.permissions.query({name: "local-network-access"}); })
      .catch(function () { return null; });
  }
  function start() {
    localAccess().then(function (perm) {
      if (perm && perm.state === "denied") { qr(T.notAllowed); return; }
      var pending = !!perm && perm.state === "prompt";
      if (pending) {
        perm.onchange = function () {
          if (perm.state !== "granted") return;
          probe(0).then(function (p) {
            if (p && p.r && p.r.errcode === 0 && !$("qr").hidden && $("scanned").hidden) { say(""); offer(p); }
          });
        };
      }
      say(T.checking);
      var held = false; // the QR code is up, blaming the permission
      var timer = pending ? setTimeout(function () { held = true; qr(T.waitingPermission); }, 700) : null;
      probe(0).then(function (p) {
        clearTimeout(timer);
        var answered = p && p.r;
        if (answered && p.r.errcode === 0) {
          if (!held || $("scanned").hidden) { say(""); offer(p); }
          return;
        }
        // tell states the outcome: the QR code with msg, or msg beside it.
        function tell(msg, isErr) { if (held) { say(msg, isErr); } else { qr(msg, isErr); } }
        if (answered || !pending) { tell(why(p), answered && p.r.errcode === 10067); return; }
        localAccess().then(function (now) {
          if (now && now.state === "denied") { tell(T.notAllowed); return; }
          if (now && now.state === "prompt" && (held || p && p.blocked)) { tell(T.waitingPermission); return; }
          tell(why(p));
        });
      });
    });
  }

  // The account's picture, or its initial when there is none or it fails
  // to load: never a broken image.
  function avatar(name, url) {
    var img = $("avatar"), ini = $("initials");
    ini.textContent = (name || "?").trim().charAt(0).toUpperCase();
    function initials() { img.hidden = true; ini.hidden = false; }
    if (!url) { initials(); return; }
    img.onerror = initials;
    img.onload = function () { img.hidden = false; ini.hidden = true; };
    img.src = url;
  }
  var icon = $("appicon");
  if (icon) icon.onerror = function () { icon.hidden = true; $("appbadge").hidden = false; };

  $("continue").addEventListener("click", function (ev) {
    var data = JSON.stringify({x: Math.max(0, Math.round(ev.clientX)), y: Math.max(0, Math.round(ev.clientY))});
    show("waiting"); // the section says what to do: no second line in the status
    say("");
    var ctl = asking = new AbortController();
    $("countdown").textContent = "";
    if (limits.confirm) countdown($("countdown"), limits.confirm, function (left) { return T.countdown.replace("%s", mmss(left)); });
    local(daemon.base, "authorize", Object.assign({data: data, authorize_uuid: daemon.uuid}, req), 0, ctl.signal).then(function (r) {
      clearInterval(ticking);
      switch (r.errcode) {
        case 0: say(T.signingIn); go(r.jsdata.redirect_url); return;
        case 10050: refused(T.denied); return;
        case 10046: refused(T.timedOut); return;
        case 10062: qr(T.busy); return;
        case 10064: fast(); return; // the uuid went stale: ask again
        case 10066: if (r.reason === "cooldown") { refused(T.cooldown, r.retry_after); return; } qr(T.useQRNow); return;
        case 10067: qr(T.refused + " " + (r.errmsg || ""), true); return;
        default: qr(T.useQRNow); return;
      }
    }, function () {
      clearInterval(ticking);
      // Cancelled here: the daemon withdraws its window when the request ends.
      if (ctl.signal.aborted) { refused(T.cancelledHere); return; }
      qr(T.useQRNow);
    });
  });
  $("cancel").addEventListener("click", function () { if (asking) asking.abort(); });
  $("retry").addEventListener("click", function () { $("retry").hidden = true; fast(); });
  $("use-qr").addEventListener("click", function () { qr(); });
  $("switch").addEventListener("click", function () { qr(T.switchHint); });
  $("again").addEventListener("click", function () { uuid = ""; qr(); });

  function newTicket() {
    return fetch("/connect/qrticket", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(req)})
      .then(function (r) { return r.json(); })
      .then(function (t) {
        if (!t.uuid) throw new Error(t.errmsg || "no ticket");
        uuid = t.uuid;
        key = t.key;
        $("qrimg").src = "/connect/qrcode/" + uuid;
        $("qrurl").textContent = t.url; // what the QR code holds
        $("qrlink").hidden = false;
        if (!document.body.dataset.qrAt) document.body.dataset.qrAt = String(Math.round(performance.now()));
        $("scanned").hidden = true;
        $("qrimg").hidden = false;
        $("qrhint").hidden = false;
      });
  }

  function qr(msg, isErr) {
    show("qr");
    clearInterval(ticking);
    $("again").hidden = true;
    $("retry").hidden = true;
    say(msg || "", isErr);
    var gen = ++polling;
    if (uuid) { poll(gen, 408); return; }
    newTicket().then(function () { poll(gen, 408); }, function (e) {
      say(e.message || T.error, true);
      $("again").hidden = false;
    });
  }

  // Long-poll the ticket; the server answers the moment its state changes.
  function poll(gen, last) {
    if (gen !== polling) return;
    fetch("/connect/l/qrconnect?uuid=" + encodeURIComponent(uuid) + "&key=" + encodeURIComponent(key) + "&last=" + last)
      .then(function (r) { return r.json(); })
      .then(function (r) {
        if (gen !== polling) return;
        switch (r.errcode) {
          case 408: poll(gen, 408); return;
          case 404:
            $("qrimg").hidden = true;
            $("qrhint").hidden = true;
            $("qrlink").hidden = true;
            $("scanned").hidden = false;
            say(T.scanned); // never who: see the backend's handlePoll
            poll(gen, 404);
            return;
          case 405: say(T.signingIn); go(r.redirect_url); return;
          case 403:
            say(T.cancelled);
            $("scanned").hidden = true;
            $("again").hidden = false;
            $("again").focus();
            return;
          case 402: newTicket().then(function () { say(T.refreshed); poll(gen, 408); }, function () { say(T.error, true); }); return;
          default: say(T.error, true); $("again").hidden = false; return;
        }
      }, function () {
        // The network went away: try again shortly, without hammering.
        setTimeout(function () { poll(gen, last); }, 2000);
      });
  }

  if (cfg.fast) { start(); } else { qr(); }
})();
