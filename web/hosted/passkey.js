// Passkeys on the backend's pages: sign in with one (a button, and the
// browser's autofill where it offers passkeys there: conditional
// mediation), and register one from the account page. The server puts
// the WebAuthn options on the form (data-options); the answer goes back
// as JSON in the form's "credential" field, by an ordinary form post, so
// the server can send the browser on as after a password.
(function () {
  "use strict";
  function dec(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function enc(buf) {
    var u = new Uint8Array(buf), s = "";
    for (var i = 0; i < u.length; i++) s += String.fromCharCode(u[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function ids(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: dec(c.id) }); });
  }
  function say(form, msg) {
    var e = form.querySelector(".passkey-error");
    e.textContent = msg;
    e.hidden = false;
  }
  function unsupported(form) {
    if (window.PublicKeyCredential && navigator.credentials) return false;
    say(form, form.dataset.unsupported);
    form.querySelector("button").disabled = true;
    return true;
  }

  function signIn(form) {
    if (unsupported(form)) return;
    var opts = JSON.parse(form.dataset.options).publicKey;
    var pending = null;
    function get(mediation) {
      if (pending) pending.abort();
      pending = new AbortController();
      var pk = Object.assign({}, opts, { challenge: dec(opts.challenge), allowCredentials: ids(opts.allowCredentials) });
      var req = { publicKey: pk, signal: pending.signal };
      if (mediation) req.mediation = mediation;
      return navigator.credentials.get(req).then(function (c) {
        if (!c) return;
        form.elements.credential.value = JSON.stringify({
          id: c.id, rawId: enc(c.rawId), type: c.type, authenticatorAttachment: c.authenticatorAttachment,
          clientExtensionResults: c.getClientExtensionResults(),
          response: {
            clientDataJSON: enc(c.response.clientDataJSON), authenticatorData: enc(c.response.authenticatorData),
            signature: enc(c.response.signature), userHandle: c.response.userHandle ? enc(c.response.userHandle) : null
          }
        });
        form.submit();
      });
    }
    form.querySelector("button").addEventListener("click", function () {
      get("").catch(function (e) { if (e.name !== "AbortError") say(form, form.dataset.failed); });
    });
    // Autofill: the username field lists this site's passkeys.
    if (document.querySelector('input[autocomplete~="webauthn"]') && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (ok) get("conditional").catch(function () {});
      });
    }
  }

  function register(form) {
    if (unsupported(form)) return;
    var opts = JSON.parse(form.dataset.options).publicKey;
    form.querySelector("button").addEventListener("click", function () {
      if (!form.reportValidity()) return;
      var pk = Object.assign({}, opts, {
        challenge: dec(opts.challenge), user: Object.assign({}, opts.user, { id: dec(opts.user.id) }),
        excludeCredentials: ids(opts.excludeCredentials)
      });
      navigator.credentials.create({ publicKey: pk }).then(function (c) {
        form.elements.credential.value = JSON.stringify({
          id: c.id, rawId: enc(c.rawId), type: c.type, authenticatorAttachment: c.authenticatorAttachment,
          clientExtensionResults: c.getClientExtensionResults(),
          response: {
            clientDataJSON: enc(c.response.clientDataJSON), attestationObject: enc(c.response.attestationObject),
            transports: c.response.getTransports ? c.response.getTransports() : []
          }
        });
        form.submit();
      }).catch(function (e) {
        say(form, e.name === "InvalidStateError" ? form.dataset.exists : form.dataset.failed);
      });
    });
  }

  document.querySelectorAll("form.passkey-signin").forEach(signIn);
  var reg = document.getElementById("passkey-register");
  if (reg) register(reg);
})();
