// The staff chat. Every text from the user or the assistant goes into the page with
// textContent (through el()), never innerHTML, so nothing anyone writes can become markup.
(function () {
  "use strict";

  var root = document.getElementById("chat");
  var log = document.getElementById("log");
  var status = document.getElementById("typing");
  var form = document.getElementById("ask-form");
  var input = document.getElementById("message");
  var timeoutMs = parseInt(root.getAttribute("data-timeout-ms"), 10) || 15000;
  var line = {
    service: root.getAttribute("data-service"),
    phone: root.getAttribute("data-phone"),
    tel: root.getAttribute("data-tel"),
    hours: root.getAttribute("data-hours")
  };
  var MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December"];
  var PRIVACY_KEY = "mutuals-privacy-seen";
  var busy = false;
  var uid = 0;

  // ---- small DOM helpers -------------------------------------------------------------------

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function safeHref(url) {
    return /^https?:\/\//i.test(url || "") ? url : null;
  }

  function link(href, text) {
    var a = el("a", "govuk-link", text);
    a.href = href;
    return a;
  }

  function telHref(phone) {
    return "tel:" + String(phone || "").replace(/[^0-9+]/g, "");
  }

  function longDate(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    return m ? parseInt(m[3], 10) + " " + MONTHS[parseInt(m[2], 10) - 1] + " " + m[1] : iso;
  }

  function setStatus(text) {
    status.textContent = text || "";
  }

  // ---- the conversation log ----------------------------------------------------------------

  function hideEmpty() {
    var empty = document.getElementById("log-empty");
    if (empty) empty.hidden = true;
  }

  // Quick replies and feedback questions belong to the latest reply only: the server accepts
  // no other payloads, so older ones are taken away as soon as the conversation moves on.
  function clearQuickReplies() {
    Array.prototype.forEach.call(log.querySelectorAll("[data-quick]"), function (node) {
      node.parentNode.removeChild(node);
    });
  }

  function message(who, cls) {
    var box = el("div", "app-msg " + cls);
    box.appendChild(el("p", "app-msg__who", who));
    var body = el("div", "app-msg__body");
    box.appendChild(body);
    return { box: box, body: body };
  }

  function addUser(text, comment) {
    hideEmpty();
    var m = message("You", "app-msg--user");
    m.body.appendChild(el("p", "govuk-body app-msg__text", text));
    if (comment) m.body.appendChild(el("p", "govuk-body-s app-msg__text", "Comment: " + comment));
    log.appendChild(m.box);
  }

  function summaryRow(list, key, value) {
    var row = el("div", "govuk-summary-list__row");
    row.appendChild(el("dt", "govuk-summary-list__key", key));
    var dd = el("dd", "govuk-summary-list__value");
    if (typeof value === "string") dd.textContent = value; else dd.appendChild(value);
    row.appendChild(dd);
    list.appendChild(row);
  }

  function referralCard(r) {
    var card = el("div", "app-referral");
    card.appendChild(el("h4", "govuk-heading-s govuk-!-margin-bottom-2", r.name));
    var list = el("dl", "govuk-summary-list govuk-summary-list--no-border govuk-!-margin-bottom-0 app-referral__list");
    if (r.when) summaryRow(list, "When to contact", r.when);
    if (r.phone) summaryRow(list, "Phone", link(telHref(r.phone), r.phone));
    if (r.email) summaryRow(list, "Email", link("mailto:" + r.email, r.email));
    if (safeHref(r.web)) summaryRow(list, "Website", link(r.web, r.web.replace(/^https?:\/\//, "").replace(/\/$/, "")));
    card.appendChild(list);
    if (r.note) card.appendChild(el("p", "govuk-body-s govuk-!-margin-bottom-0 govuk-!-margin-top-2", r.note));
    return card;
  }

  function renderAnswer(body, c, text) {
    body.appendChild(el("p", "govuk-body app-msg__text", c.answer || text));
    if (c.caveat) body.appendChild(el("div", "govuk-inset-text", c.caveat));
    if (c.referrals && c.referrals.length) {
      body.appendChild(el("h3", "govuk-heading-s govuk-!-margin-bottom-2", "Who can help"));
      c.referrals.forEach(function (r) { body.appendChild(referralCard(r)); });
    }
    if (c.sources && c.sources.length) {
      body.appendChild(el("h3", "govuk-heading-s govuk-!-margin-bottom-2", "Sources"));
      var list = el("ul", "govuk-list govuk-list--bullet app-sources");
      c.sources.forEach(function (s) {
        var li = el("li");
        var href = safeHref(s.url);
        li.appendChild(href ? link(href, s.title) : el("span", null, s.title));
        if (s.date && s.date !== "n.d.") li.appendChild(document.createTextNode(" (" + s.date + ")"));
        list.appendChild(li);
      });
      body.appendChild(list);
    }
    if (c.last_reviewed) {
      body.appendChild(el("p", "govuk-body-s app-muted govuk-!-margin-bottom-0", "Answer last reviewed " + longDate(c.last_reviewed)));
    }
  }

  function quickReplies(buttons) {
    var group = el("div", "app-quick-replies");
    group.setAttribute("data-quick", "");
    buttons.forEach(function (b) {
      if (!b || typeof b.payload !== "string") return;
      var btn = el("button", "govuk-button govuk-button--secondary app-quick-reply", b.title || b.payload);
      btn.type = "button";
      btn.addEventListener("click", function () { choose(b.title || b.payload, { payload: b.payload }); });
      group.appendChild(btn);
    });
    return group;
  }

  // "Was this helpful?" after each answer; "No" opens an optional comment before it is sent.
  function feedback(m) {
    var yes = (m.buttons || []).filter(function (b) { return /feedback_helpful$/.test(b.payload); })[0];
    var no = (m.buttons || []).filter(function (b) { return /feedback_not_helpful$/.test(b.payload); })[0];
    var box = el("div", "app-feedback");
    box.setAttribute("data-quick", "");
    var id = "fb-" + (++uid);
    var heading = el("h3", "govuk-heading-s govuk-!-margin-bottom-2", "Was this helpful?");
    heading.id = id + "-q";
    box.appendChild(heading);
    var group = el("div", "govuk-button-group govuk-!-margin-bottom-0");
    group.setAttribute("role", "group");
    group.setAttribute("aria-labelledby", heading.id);
    if (yes) {
      var y = el("button", "govuk-button govuk-button--secondary govuk-!-margin-bottom-2", "Yes");
      y.type = "button";
      y.addEventListener("click", function () { choose("Yes, that helped", { payload: yes.payload }); });
      group.appendChild(y);
    }
    if (no) {
      var n = el("button", "govuk-button govuk-button--secondary govuk-!-margin-bottom-2", "No");
      n.type = "button";
      n.addEventListener("click", function () { askComment(box, no, id); });
      group.appendChild(n);
    }
    box.appendChild(group);
    return box;
  }

  function askComment(box, no, id) {
    box.textContent = "";
    var f = el("form", "app-feedback__form");
    f.noValidate = true;
    var fg = el("div", "govuk-form-group govuk-!-margin-bottom-4");
    var label = el("label", "govuk-label govuk-label--s", "What were you looking for? (optional)");
    label.htmlFor = id + "-comment";
    var hint = el("div", "govuk-hint", "This helps us improve the answers. Do not include personal details.");
    hint.id = id + "-hint";
    var area = el("textarea", "govuk-textarea govuk-!-margin-bottom-0");
    area.id = id + "-comment";
    area.name = "comment";
    area.rows = 3;
    area.maxLength = 500;
    area.setAttribute("aria-describedby", hint.id);
    fg.appendChild(label);
    fg.appendChild(hint);
    fg.appendChild(area);
    f.appendChild(fg);
    var send = el("button", "govuk-button govuk-!-margin-bottom-0", "Send feedback");
    send.type = "submit";
    f.appendChild(send);
    f.addEventListener("submit", function (e) {
      e.preventDefault();
      var comment = area.value.trim();
      choose("No, that didn't help", { payload: no.payload, comment: comment }, comment);
    });
    box.appendChild(f);
    area.focus();
  }

  function unavailable(body, text, phone) {
    var w = el("div", "govuk-warning-text govuk-!-margin-bottom-0");
    var icon = el("span", "govuk-warning-text__icon", "!");
    icon.setAttribute("aria-hidden", "true");
    w.appendChild(icon);
    var strong = el("strong", "govuk-warning-text__text");
    strong.appendChild(el("span", "govuk-visually-hidden", "Warning"));
    strong.appendChild(document.createTextNode(text + " "));
    strong.appendChild(link(telHref(phone || line.phone), "Call " + (phone || line.phone)));
    w.appendChild(strong);
    body.appendChild(w);
  }

  function openCallback() {
    var section = document.getElementById("callback");
    section.hidden = false;
    document.getElementById("show-callback").setAttribute("aria-expanded", "true");
    document.getElementById("callback-heading").focus();
  }

  function addBot(m) {
    if (!m || typeof m !== "object") return;
    hideEmpty();
    var c = (m.custom && typeof m.custom === "object") ? m.custom : {};
    if (c.kind === "feedback_prompt") {
      log.appendChild(feedback(m));
      return;
    }
    var msg = message("Assistant", "app-msg--bot");
    if (c.kind === "answer") {
      renderAnswer(msg.body, c, m.text);
    } else if (c.kind === "unavailable") {
      unavailable(msg.body, m.text, c.phone);
    } else if (m.text) {
      msg.body.appendChild(el("p", "govuk-body app-msg__text", m.text));
    }
    if (c.kind === "handoff") {
      var cb = el("button", "govuk-button govuk-button--secondary govuk-!-margin-bottom-0", "Request a callback");
      cb.type = "button";
      cb.addEventListener("click", openCallback);
      msg.body.appendChild(cb);
    }
    if (m.buttons && m.buttons.length) msg.body.appendChild(quickReplies(m.buttons));
    if (msg.body.childNodes.length) log.appendChild(msg.box);
  }

  function offline() {
    return {
      text: "Sorry, the assistant isn't responding right now. Please try again shortly, or call the " +
        line.service + " on " + line.phone + " (" + line.hours + ").",
      custom: { kind: "unavailable", phone: line.phone }
    };
  }

  // ---- talking to the server ---------------------------------------------------------------

  function send(body) {
    busy = true;
    setStatus("The assistant is typing\u2026");
    var ctl = new AbortController();
    var timer = setTimeout(function () { ctl.abort(); }, timeoutMs);
    var slow = setTimeout(function () { setStatus("Still working on it\u2026"); }, 5000);
    return fetch("/api/chat", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      signal: ctl.signal, credentials: "same-origin"
    })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (data) {
        if (data && typeof data.stored_as === "string") storedAs(data.stored_as);
        var msgs = (data && data.messages) || [];
        if (!msgs.length) msgs = [offline()];
        msgs.forEach(addBot);
      })
      .catch(function () { addBot(offline()); })
      .then(function () {
        clearTimeout(timer);
        clearTimeout(slow);
        setStatus("");
        busy = false;
      });
  }

  // The conversation log keeps messages with personal details taken out: show the same.
  function storedAs(text) {
    var users = log.querySelectorAll(".app-msg--user");
    var last = users[users.length - 1];
    if (!last) return;
    var p = last.querySelector(".app-msg__text");
    if (!p || p.textContent === text) return;
    p.textContent = text;
    last.querySelector(".app-msg__body").appendChild(
      el("p", "govuk-body-s app-muted govuk-!-margin-bottom-2", "We removed personal details before saving your message."));
  }

  function choose(shown, body, comment) {
    if (busy) return;
    clearQuickReplies();
    addUser(shown, comment);
    input.focus();
    send(body);
  }

  function fieldError(text) {
    var group = document.getElementById("message-group");
    var err = document.getElementById("message-error");
    err.textContent = "";
    if (text) {
      err.appendChild(el("span", "govuk-visually-hidden", "Error: "));
      err.appendChild(document.createTextNode(text));
    }
    err.hidden = !text;
    group.classList.toggle("govuk-form-group--error", !!text);
    input.classList.toggle("govuk-input--error", !!text);
    input.setAttribute("aria-describedby", text ? "message-hint message-error" : "message-hint");
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) {
      fieldError("Enter your question");
      input.focus();
      return;
    }
    if (busy) return;
    fieldError("");
    input.value = "";
    clearQuickReplies();
    addUser(text);
    send({ message: text });
  });

  document.getElementById("restart").addEventListener("click", function () {
    if (busy) return;
    busy = true;
    fetch("/api/restart", { method: "POST", credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); })
      .then(function () {
        Array.prototype.slice.call(log.children).forEach(function (n) {
          if (n.id !== "log-empty") log.removeChild(n);
        });
        document.getElementById("log-empty").hidden = false;
        fieldError("");
        input.value = "";
        setStatus("You started a new conversation.");
        input.focus();
      })
      .catch(function () { setStatus("Could not start again. Check your connection and try again."); })
      .then(function () { busy = false; });
  });

  // A reload shows the conversation so far (the server keeps it under this session's id).
  function loadHistory() {
    return fetch("/api/history", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { turns: [] }; })
      .then(function (data) {
        var turns = (data && data.turns) || [];
        if (!turns.length) return;
        log.setAttribute("aria-live", "off"); // do not read the whole history out again
        turns.forEach(function (t) {
          if (t.role === "user") {
            clearQuickReplies();
            addUser(t.text, t.comment);
          } else {
            (t.messages || []).forEach(addBot);
          }
        });
        setTimeout(function () { log.setAttribute("aria-live", "polite"); }, 0);
      })
      .catch(function () { /* an empty log is a fine start */ });
  }

  // ---- privacy notice (first use) ----------------------------------------------------------

  var banner = document.getElementById("privacy-banner");
  var seen = false;
  try { seen = window.localStorage.getItem(PRIVACY_KEY) === "1"; } catch (e) { seen = false; }
  if (seen) banner.hidden = true;
  document.getElementById("privacy-accept").addEventListener("click", function () {
    try { window.localStorage.setItem(PRIVACY_KEY, "1"); } catch (e) { /* private mode: ask again next time */ }
    banner.hidden = true;
    input.focus();
  });

  // ---- callback requests -------------------------------------------------------------------

  var FIELDS = ["name", "contact", "preferred_time", "about", "consent"];
  var INPUT_ERROR = { name: "govuk-input--error", contact: "govuk-input--error", about: "govuk-textarea--error" };
  var baseTitle = document.title;
  var cbToggle = document.getElementById("show-callback");
  cbToggle.addEventListener("click", function () {
    var section = document.getElementById("callback");
    if (section.hidden) { openCallback(); } else {
      section.hidden = true;
      cbToggle.setAttribute("aria-expanded", "false");
    }
  });

  function showErrors(errors, general) {
    var summary = document.getElementById("callback-errors");
    var list = document.getElementById("callback-error-list");
    list.textContent = "";
    if (general) list.appendChild(el("li", null, general));
    FIELDS.forEach(function (k) {
      var text = errors && errors[k];
      var msg = document.getElementById("cb-" + k + "-error");
      var group = document.getElementById("cb-" + k + "-group");
      var field = document.getElementById("cb-" + k);
      msg.textContent = "";
      if (text) {
        msg.appendChild(el("span", "govuk-visually-hidden", "Error: "));
        msg.appendChild(document.createTextNode(text));
        var li = el("li");
        var a = link("#cb-" + k, text);
        a.addEventListener("click", function (e) {
          e.preventDefault();
          field.focus();
          var label = group.querySelector("legend, label");
          if (label) label.scrollIntoView();
        });
        li.appendChild(a);
        list.appendChild(li);
      }
      msg.hidden = !text;
      group.classList.toggle("govuk-form-group--error", !!text);
      if (INPUT_ERROR[k]) field.classList.toggle(INPUT_ERROR[k], !!text);
      var described = (field.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
        return id && id !== msg.id;
      });
      if (text && k !== "preferred_time" && k !== "consent") described.push(msg.id);
      if (described.length) field.setAttribute("aria-describedby", described.join(" "));
      else field.removeAttribute("aria-describedby");
    });
    var any = !!(general || (errors && Object.keys(errors).length));
    summary.hidden = !any;
    document.title = (any ? "Error: " : "") + baseTitle;
    if (any) summary.focus();
  }

  document.getElementById("callback-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var f = e.target;
    var checked = f.querySelector("input[name=preferred_time]:checked");
    var body = {
      name: f.elements.name.value, contact: f.elements.contact.value, about: f.elements.about.value,
      preferred_time: checked ? checked.value : "", consent: f.elements.consent.checked
    };
    var submit = document.getElementById("callback-submit");
    submit.disabled = true;
    fetch("/api/callback", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      credentials: "same-origin"
    })
      .then(function (r) {
        return r.json().then(function (data) { return { ok: r.ok, status: r.status, data: data }; });
      })
      .then(function (res) {
        if (res.status === 422) { showErrors(res.data.errors || {}); return; }
        if (!res.ok) throw new Error("HTTP " + res.status);
        showErrors(null);
        f.hidden = true;
        document.getElementById("callback-ref").textContent = String(res.data.id);
        document.getElementById("callback-message").textContent = res.data.message;
        document.getElementById("callback-done").hidden = false;
        document.getElementById("callback-done-title").focus();
      })
      .catch(function () {
        showErrors(null, "Your request could not be sent. Try again, or call the " + line.service + " on " + line.phone + ".");
      })
      .then(function () { submit.disabled = false; });
  });

  loadHistory();
})();
