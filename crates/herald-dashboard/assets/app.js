// Herald dashboard: the few things plain HTML cannot do. Everything works without
// this file except copying to the clipboard and opening a portal link by itself.
(function () {
  "use strict";

  // Portal links carry their access key in the fragment (#key=…), which never
  // reaches the server: post it to open a portal session, then drop it.
  function openPortal() {
    var form = document.getElementById("portal-open");
    if (!form) return;
    var m = /(?:^#|&)key=([^&]+)/.exec(location.hash);
    if (!m) return;
    var key = decodeURIComponent(m[1]);
    history.replaceState(null, "", location.pathname + location.search);
    form.querySelector("input[name=key]").value = key;
    form.submit();
  }

  // [data-copy="#selector"]: copy that input's value.
  document.addEventListener("click", function (e) {
    var button = e.target.closest("[data-copy]");
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) return;
    var done = function () { var t = button.textContent; button.textContent = "Copied"; setTimeout(function () { button.textContent = t; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done);
    } else {
      field.select(); document.execCommand("copy"); done();
    }
  });

  // form[data-confirm]: ask before destructive posts (boosted or not).
  document.addEventListener("submit", function (e) {
    var msg = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { e.preventDefault(); e.stopImmediatePropagation(); }
  }, true);

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", openPortal);
  else openPortal();
})();
