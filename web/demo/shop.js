// Demo Shop: start the scanfree widget, or lay the session watermark over a
// signed-in page, with what the server put in the page.
(function () {
  "use strict";
  var el = document.getElementById("login_container");
  if (el) {
    new ScanFreeLogin({
      id: "login_container",
      appid: el.dataset.appid,
      redirect_uri: el.dataset.redirectUri,
      scope: "snsapi_login",
      state: el.dataset.state
    });
  }
  var wm = document.getElementById("watermark");
  if (wm) {
    ScanFreeLogin.watermark({text: wm.dataset.text});
  }
})();
