// SPDX-License-Identifier: Apache-2.0
// The handout's Print button prints this document only (inside the EHR's frame too).
(function () {
  "use strict";
  var button = document.getElementById("print-now");
  if (button) { button.addEventListener("click", function () { window.print(); }); }
}());
