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
 *
 * A session watermark over a signed-in page (seed 000): who is signed in and from where, tiled,
 * low contrast, not selectable, letting every click through; a screenshot or a photo of the screen
 * names its session. The relying party passes what its server knows:
 *
 *   ScanFreeLogin.watermark({text: "openid · 203.0.113.7"});   // returns the layer; .remove() ends it
 *
 * Options: text (required), opacity (0.08), color ("currentColor"), angle (-24 degrees), gap (px, 180).
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
  // watermark lays a fixed layer of repeated text over the page. It is
  // built from DOM text (no canvas, no data: URL), so a relying party's CSP
  // needs nothing beyond loading this script.
  ScanFreeLogin.watermark = function (o) {
    if (!o || !o.text) {
      throw new Error("ScanFreeLogin.watermark: text is required");
    }
    var layer = document.createElement("div");
    layer.className = "scanfree-watermark";
    layer.setAttribute("aria-hidden", "true");
    var st = layer.style;
    st.position = "fixed";
    st.inset = "0";
    st.zIndex = "2147483647";
    st.pointerEvents = "none";
    st.userSelect = "none";
    st.webkitUserSelect = "none";
    st.overflow = "hidden";
    st.opacity = String(o.opacity || 0.08);
    st.color = o.color || "currentColor";
    var gap = o.gap || 180;
    var w = Math.max(screen.width, window.innerWidth), h = Math.max(screen.height, window.innerHeight);
    for (var y = -gap; y < h + gap; y += gap / 2) {
      for (var x = -gap; x < w + gap; x += gap * 1.5) {
        var t = document.createElement("span");
        t.textContent = o.text;
        t.style.cssText = "position:absolute;white-space:nowrap;font:14px system-ui,sans-serif;left:" + x + "px;top:" + y +
          "px;transform:rotate(" + (o.angle === undefined ? -24 : o.angle) + "deg)";
        layer.appendChild(t);
      }
    }
    document.body.appendChild(layer);
    return layer;
  };
  window.ScanFreeLogin = ScanFreeLogin;
})();
