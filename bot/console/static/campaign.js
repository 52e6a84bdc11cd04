// The campaign page's progress: polls /campaigns/<id>/progress and fills the numbers in; reloads the page when the
// campaign's state changes (so the buttons match it), and stops once the campaign is done or cancelled.
(function () {
  "use strict";
  var section = document.getElementById("progress");
  if (!section) { return; }
  var url = section.getAttribute("data-url");
  var status = section.getAttribute("data-status");
  var fields = ["done", "total", "sent", "failed", "unreachable", "rate", "time_left"];
  function show(data) {
    fields.forEach(function (name) {
      var element = document.getElementById("progress-" + name);
      if (element) { element.textContent = String(data[name]); }
    });
    var bar = document.getElementById("progress-bar");
    bar.max = data.total || 1;
    bar.value = data.done;
    section.setAttribute("data-done", String(data.done));
    if (data.status !== status) { window.location.reload(); return; }
    if (!data.finished) { window.setTimeout(poll, 1000); }
  }
  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(show, function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
