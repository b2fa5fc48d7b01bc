// Demo Shop: start the scanfree widget with what the server put in the page.
(function () {
  "use strict";
  var el = document.getElementById("login_container");
  new ScanFreeLogin({
    id: "login_container",
    appid: el.dataset.appid,
    redirect_uri: el.dataset.redirectUri,
    scope: "snsapi_login",
    state: el.dataset.state
  });
})();
