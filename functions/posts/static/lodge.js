// Lodge: vote, bookmark, follow and RSVP forms without a page reload. Each form
// works on its own (POST, then a redirect back); this only sends the same
// form with `Accept: application/json` and updates the page from the answer.
(function () {
  "use strict";

  function update(form, data) {
    var box = form.closest("[data-post]") || document;
    if (typeof data.upvotes === "number") {
      box.querySelectorAll("[data-upvotes]").forEach(function (el) { el.textContent = String(data.upvotes); });
    }
    if (typeof data.voted === "boolean") {
      toggle(box, "vote", data.voted);
    }
    if (typeof data.bookmarked === "boolean") {
      toggle(box, "bookmark", data.bookmarked);
    }
    if (typeof data.going === "number") {
      box.querySelectorAll("[data-going]").forEach(function (el) { el.textContent = String(data.going); });
    }
    if (typeof data.rsvp === "boolean") {
      toggle(box, "rsvp", data.rsvp);
    }
    if (typeof data.following === "boolean") {
      toggle(box, "follow", data.following);
    }
  }

  // Each toggle is a pair of forms (`data-toggle="vote" data-on="true|false"`):
  // show the one that applies now.
  function toggle(box, name, on) {
    box.querySelectorAll('form[data-toggle="' + name + '"]').forEach(function (f) {
      f.hidden = (f.getAttribute("data-on") === "true") !== on;
    });
  }

  function problem(form, message) {
    var out = form.querySelector("[data-problem]");
    if (!out) {
      out = document.createElement("span");
      out.setAttribute("data-problem", "");
      out.className = "error";
      form.appendChild(out);
    }
    out.textContent = " " + message;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-enhance")) {
      return;
    }
    event.preventDefault();
    var button = form.querySelector("button");
    if (button) { button.disabled = true; }
    fetch(form.action, {
      method: "POST",
      headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(new FormData(form)).toString(),
      credentials: "same-origin"
    }).then(function (r) {
      return r.json().then(function (data) { return { ok: r.ok, data: data }; });
    }).then(function (answer) {
      if (answer.ok) {
        update(form, answer.data);
      } else {
        problem(form, (answer.data.error && answer.data.error.message) || "That did not work.");
      }
    }).catch(function () {
      form.submit();
    }).finally(function () {
      if (button) { button.disabled = false; }
    });
  });
})();
