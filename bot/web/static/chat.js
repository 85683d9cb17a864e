// The chat page: every text goes in with textContent, never innerHTML, so nothing a user or
// the assistant writes can become markup.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var form = document.getElementById("form");
  var input = document.getElementById("message");

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }

  function safeUrl(url) {
    return /^https:\/\//.test(url || "") ? url : null;
  }

  function renderCustom(box, custom) {
    if (!custom || custom.kind !== "answer") return;
    var cards = el("div", "cards");
    (custom.referrals || []).forEach(function (r) {
      var card = el("div", "card");
      card.appendChild(el("strong", null, r.name));
      card.appendChild(el("div", null, r.when));
      if (r.phone) card.appendChild(el("div", null, "Phone: " + r.phone));
      if (r.email) card.appendChild(el("div", null, "Email: " + r.email));
      if (safeUrl(r.web)) { var a = el("a", null, r.web); a.href = r.web; card.appendChild(a); }
      cards.appendChild(card);
    });
    if ((custom.sources || []).length) {
      var src = el("div", "sources", "Sources: ");
      custom.sources.forEach(function (s, i) {
        if (i) src.appendChild(document.createTextNode("; "));
        var a = el("a", null, s.title + " (" + s.date + ")");
        if (safeUrl(s.url)) a.href = s.url;
        src.appendChild(a);
      });
      cards.appendChild(src);
    }
    box.appendChild(cards);
  }

  function addBot(m) {
    var box = el("div", "msg bot");
    if (m.text) box.appendChild(el("div", null, m.text));
    renderCustom(box, m.custom);
    if (m.buttons && m.buttons.length) {
      var choices = el("div", "choices");
      m.buttons.forEach(function (b) {
        var btn = el("button", "button", b.title);
        btn.type = "button";
        btn.addEventListener("click", function () { send({ payload: b.payload }, b.title); });
        choices.appendChild(btn);
      });
      box.appendChild(choices);
    }
    if (box.childNodes.length) log.appendChild(box);
  }

  function send(body, shown) {
    log.appendChild(el("div", "msg user", shown));
    var ctl = new AbortController();
    var timer = setTimeout(function () { ctl.abort(); }, 15000);
    fetch("/api/chat", { method: "POST", headers: { "Content-Type": "application/json" },
                         body: JSON.stringify(body), signal: ctl.signal, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) { (data.messages || []).forEach(addBot); })
      .catch(function () { addBot({ text: "Sorry, the assistant isn't responding. Please try again, or call the mutuals information line." }); })
      .finally(function () { clearTimeout(timer); });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) { input.focus(); return; }
    input.value = "";
    send({ message: text }, text);
  });

  var cbSection = document.getElementById("callback");
  var cbToggle = document.getElementById("show-callback");
  cbToggle.addEventListener("click", function () {
    cbSection.hidden = !cbSection.hidden;
    cbToggle.setAttribute("aria-expanded", String(!cbSection.hidden));
    if (!cbSection.hidden) document.getElementById("cb-name").focus();
  });

  document.getElementById("callback-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var f = e.target;
    var checked = f.querySelector("input[name=preferred_time]:checked");
    var els = f.elements;
    var body = { name: els["name"].value, contact: els["contact"].value, about: els["about"].value,
                 preferred_time: checked ? checked.value : "", consent: els["consent"].checked };
    fetch("/api/callback", { method: "POST", headers: { "Content-Type": "application/json" },
                             body: JSON.stringify(body), credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var summary = document.getElementById("callback-errors");
        var list = document.getElementById("callback-error-list");
        list.textContent = "";
        ["name", "contact", "preferred_time", "about", "consent"].forEach(function (k) {
          var msg = document.getElementById("cb-" + k + "-error");
          var text = data.errors && data.errors[k];
          msg.hidden = !text;
          msg.textContent = text ? "Error: " + text : "";
          if (text) {
            var li = el("li"); var a = el("a", null, text); a.href = "#cb-" + k; li.appendChild(a); list.appendChild(li);
          }
        });
        summary.hidden = !data.errors;
        if (data.errors) { summary.focus(); return; }
        f.hidden = true;
        document.getElementById("callback-done").textContent = data.message;
      });
  });

  document.getElementById("restart").addEventListener("click", function () {
    fetch("/api/restart", { method: "POST", credentials: "same-origin" }).then(function () {
      log.textContent = "";
      input.focus();
    });
  });
})();
