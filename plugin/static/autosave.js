// SPDX-License-Identifier: Apache-2.0
// Saves review drafts (encrypted, server-side) while the clinician works. Every form also works
// without this script: "Save draft" does the same.
(function () {
  "use strict";
  document.querySelectorAll("form[data-autosave]").forEach(function (form) {
    var status = form.querySelector("[data-autosave-status]");
    var timer = null;
    function say(text) {
      if (status) { status.textContent = text; }
    }
    function save() {
      var data = new FormData(form);
      data.set("action", "save");
      // getAttribute: the buttons named "action" shadow form.action.
      fetch(form.getAttribute("action"), { method: "POST", body: data, credentials: "same-origin" })
        .then(function (response) {
          say(response.ok ? "Draft saved." : "Some answers need attention: use Save draft to see them.");
        })
        .catch(function () { say("Draft not saved: use Save draft."); });
    }
    function later(delay) {
      clearTimeout(timer);
      timer = setTimeout(save, delay);
    }
    form.addEventListener("input", function () { later(1500); });
    form.addEventListener("change", function () { later(400); });
    form.setAttribute("data-autosave-ready", "");
  });
}());
