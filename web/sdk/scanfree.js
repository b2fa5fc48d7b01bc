/*! scanfree.js — embed scanfree login (scan-free with the desktop companion, QR otherwise).
 *
 *   <div id="login_container"></div>
 *   <script src="https://IDP/sdk/scanfree.js"></script>
 *   <script>
 *     new ScanFreeLogin({id: "login_container", appid: "wx…", redirect_uri: "https://shop.example/callback",
 *                        scope: "snsapi_login", state: "RANDOM"});
 *   </script>
 *
 * Options: id, appid, redirect_uri, scope (snsapi_login), state, self_redirect (false: the top window
 * navigates), fast_login (true; false shows only the QR code), lang ("en" or "cn"), width, height.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script ? new URL(script.src, location.href).origin : "";

  function ScanFreeLogin(o) {
    if (!o || !o.id || !o.appid || !o.redirect_uri) {
      throw new Error("ScanFreeLogin: id, appid and redirect_uri are required");
    }
    var el = document.getElementById(o.id);
    if (!el) {
      throw new Error("ScanFreeLogin: no element with id " + o.id);
    }
    var q = new URLSearchParams({
      appid: o.appid,
      redirect_uri: o.redirect_uri,
      response_type: "code",
      scope: o.scope || "snsapi_login",
      state: o.state || ""
    });
    if (o.self_redirect) q.set("self_redirect", "true");
    if (o.fast_login === false || o.fast_login === 0) q.set("fast_login", "0");
    if (o.lang) q.set("lang", o.lang);
    var f = document.createElement("iframe");
    f.src = base + "/connect/qrconnect?" + q.toString();
    f.title = o.lang === "cn" ? "登录" : "Sign in";
    f.width = String(o.width || 320);
    f.height = String(o.height || 420);
    f.style.border = "0";
    // The login page talks to the desktop companion on the loopback address.
    f.setAttribute("allow", "local-network-access; loopback-network");
    // The page sends the browser on to redirect_uri itself, also when no click preceded (QR).
    f.setAttribute("sandbox", "allow-scripts allow-same-origin allow-forms allow-top-navigation");
    el.replaceChildren(f);
    this.iframe = f;
  }
  window.ScanFreeLogin = ScanFreeLogin;
})();
