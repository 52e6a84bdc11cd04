// The draft form's live preview: a moment after each change the form is sent as "preview" (the page's own POST,
// with its CSRF token) and the preview (the message per channel and language, the recipients, the Viber cost) and
// the errors are taken from the answer; nothing is saved until "Save as a draft".
(function () {
  "use strict";
  var form = document.getElementById("campaign");
  if (!form || !window.fetch || !window.FormData) { return; }
  var timer = null;  // (form.action would be the button named "action": the attribute is read instead)
  var asked = 0;
  function swap(doc, id, place) {
    var fresh = doc.getElementById(id);
    var old = document.getElementById(id);
    if (old && fresh) { old.replaceWith(fresh); } else if (old) { old.remove(); } else if (fresh) { place(fresh); }
  }
  function refresh() {
    var body = new FormData(form);
    body.set("action", "preview");
    var mine = ++asked;
    fetch(form.getAttribute("action"), {method: "POST", body: body, credentials: "same-origin"})
      .then(function (response) { return response.text(); })
      .then(function (html) {
        if (mine !== asked) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        swap(doc, "errors", function (node) { form.before(node); });
        swap(doc, "preview", function (node) { form.after(node); });
        document.body.setAttribute("data-previews", String(mine));
      });
  }
  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 500);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
