// The operator console's search: results as you type, a script card for the chosen match,
// "Used this" / "Not right", copy, and keyboard shortcuts. Text goes in with textContent only.
(function () {
  "use strict";

  var csrf = document.getElementById("main-content").getAttribute("data-csrf");
  var q = document.getElementById("q");
  var form = document.getElementById("search-form");
  var list = document.getElementById("results");
  var status = document.getElementById("results-status");
  var area = document.getElementById("card");
  var copyStatus = document.getElementById("copy-status");
  var filters = { sector: "f-sector", nation: "f-nation", scheme: "f-scheme" };
  var singleKeys = document.getElementById("single-keys");
  var KEYS_PREF = "mutuals-op-single-keys";
  var state = { query: "", filters: {}, results: [], index: -1, ctl: null, timer: null, would: "" };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function link(href, text) {
    var a = el("a", "govuk-link", text);
    a.href = href;
    return a;
  }

  function safeHref(url) {
    return /^https?:\/\//i.test(url || "") ? url : null;
  }

  function currentFilters() {
    var out = {};
    Object.keys(filters).forEach(function (k) {
      var v = document.getElementById(filters[k]).value;
      if (v) out[k] = v;
    });
    return out;
  }

  // ---- search --------------------------------------------------------------------------------

  function search() {
    var query = q.value.trim();
    var f = currentFilters();
    if (state.ctl) state.ctl.abort();
    if (!query) {
      state.results = [];
      renderResults();
      status.textContent = "Type the caller's question to see matches.";
      return;
    }
    var params = new URLSearchParams(f);
    params.set("q", query);
    var ctl = new AbortController();
    state.ctl = ctl;
    fetch("/operator/api/search?" + params.toString(), { credentials: "same-origin", signal: ctl.signal })
      .then(function (r) {
        if (r.status === 401) { window.location.href = "/operator/login?next=/operator"; throw new Error("signed out"); }
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (data) {
        state.query = data.query;
        state.filters = f;
        // Which typed text these results answer: a slow reply to an earlier keystroke is
        // aborted, but tests (and assistive scripts) can check they see the latest one.
        list.setAttribute("data-query", query);
        list.setAttribute("data-filters", new URLSearchParams(f).toString());
        state.results = data.results || [];
        state.would = data.would || "";
        renderResults();
        if (state.results.length) {
          select(0, false);
          status.textContent = state.results.length + (state.results.length === 1 ? " match. " : " matches. ") + state.would;
        } else {
          status.textContent = "No matches. Try other words, or clear the filters.";
        }
      })
      .catch(function (e) {
        if (e.name !== "AbortError" && e.message !== "signed out") status.textContent = "Search failed. Try again.";
      });
  }

  function renderResults() {
    list.textContent = "";
    state.index = -1;
    state.results.forEach(function (r, i) {
      var li = el("li", "app-results__item");
      var b = el("button", "app-result");
      b.type = "button";
      b.id = "result-" + i;
      b.setAttribute("aria-current", "false");
      b.appendChild(el("span", "app-result__question", r.question));
      var meta = el("span", "app-result__meta");
      meta.appendChild(el("strong", "govuk-tag " + r.band_class, r.band_label));
      meta.appendChild(el("span", "app-result__score", "score " + r.score));
      b.appendChild(meta);
      b.addEventListener("click", function () { select(i, true); });
      li.appendChild(b);
      list.appendChild(li);
    });
    if (!state.results.length) showEmptyCard();
  }

  function showEmptyCard() {
    area.textContent = "";
    area.appendChild(el("h2", "govuk-heading-m", "Script")).id = "card-heading";
    area.appendChild(el("p", "govuk-body", "Choose a match to see what to say, what to ask and who to refer the caller to."));
  }

  function select(i, focusCard) {
    if (!state.results.length) return;
    i = Math.max(0, Math.min(state.results.length - 1, i));
    state.index = i;
    Array.prototype.forEach.call(list.querySelectorAll(".app-result"), function (b, j) {
      b.setAttribute("aria-current", j === i ? "true" : "false");
    });
    renderCard(state.results[i]);
    if (focusCard) area.focus();
  }

  function move(step) {
    if (!state.results.length) return;
    var focusOnResult = document.activeElement && document.activeElement.classList.contains("app-result");
    select(state.index + step, false);
    status.textContent = "Match " + (state.index + 1) + " of " + state.results.length + ": " + state.results[state.index].question;
    if (focusOnResult) document.getElementById("result-" + state.index).focus();
  }

  // ---- the script card -----------------------------------------------------------------------

  function row(dl, key, value) {
    var r = el("div", "govuk-summary-list__row");
    r.appendChild(el("dt", "govuk-summary-list__key", key));
    var dd = el("dd", "govuk-summary-list__value");
    if (typeof value === "string") dd.textContent = value; else dd.appendChild(value);
    r.appendChild(dd);
    dl.appendChild(r);
  }

  function referral(o) {
    var box = el("div", "app-card-referral");
    box.appendChild(el("p", "govuk-body govuk-!-font-weight-bold govuk-!-margin-bottom-1", o.name));
    if (o.when) box.appendChild(el("p", "govuk-body-s govuk-!-margin-bottom-1", o.when));
    var contacts = el("ul", "govuk-list govuk-!-margin-bottom-1");
    if (o.phone) { var li = el("li"); li.appendChild(link("tel:" + o.phone.replace(/[^0-9+]/g, ""), o.phone)); contacts.appendChild(li); }
    if (o.email) { var le = el("li"); le.appendChild(link("mailto:" + o.email, o.email)); contacts.appendChild(le); }
    if (safeHref(o.web)) { var lw = el("li"); lw.appendChild(link(o.web, o.web)); contacts.appendChild(lw); }
    box.appendChild(contacts);
    if (o.note) box.appendChild(el("p", "govuk-body-s app-muted", o.note));
    return box;
  }

  function renderCard(r) {
    var c = r.card;
    area.textContent = "";
    var card = el("div", "govuk-summary-card app-script-card");
    card.setAttribute("data-entry", c.id);
    var head = el("div", "govuk-summary-card__title-wrapper");
    var title = el("h2", "govuk-summary-card__title", c.question);
    title.id = "card-heading";
    head.appendChild(title);
    var actions = el("ul", "govuk-summary-card__actions");
    var act = el("li", "govuk-summary-card__action");
    var copyBtn = el("button", "app-link-button", "Copy script");
    copyBtn.type = "button";
    copyBtn.id = "copy";
    copyBtn.addEventListener("click", copy);
    act.appendChild(copyBtn);
    actions.appendChild(act);
    head.appendChild(actions);
    card.appendChild(head);

    var content = el("div", "govuk-summary-card__content");
    var dl = el("dl", "govuk-summary-list");
    var band = el("span");
    band.appendChild(el("strong", "govuk-tag " + r.band_class, r.band_label));
    band.appendChild(document.createTextNode(" score " + r.score + " (" + r.rank + " of " + state.results.length + ")"));
    row(dl, "Match", band);
    var say = el("p", "govuk-body app-say", c.say);
    say.id = "say";
    row(dl, "Say", say);
    var ask = el("ul", "govuk-list govuk-list--bullet");
    (c.ask || []).forEach(function (a) { ask.appendChild(el("li", null, a)); });
    row(dl, "Ask the caller", ask);
    var refs = el("div");
    (c.referrals || []).forEach(function (o) { refs.appendChild(referral(o)); });
    row(dl, "Refer to", refs);
    var src = el("ul", "govuk-list govuk-list--bullet");
    (c.sources || []).forEach(function (s) {
      var li = el("li");
      var href = safeHref(s.url);
      li.appendChild(href ? link(href, s.title) : el("span", null, s.title));
      if (s.date && s.date !== "n.d.") li.appendChild(document.createTextNode(" (" + s.date + ")"));
      src.appendChild(li);
    });
    row(dl, "Sources", src);
    row(dl, "Applies to", c.applies_to);
    if (c.versions && c.versions.length) {
      // The same question's entry for another nation, sector or scheme: search for it by its words.
      var other = el("ul", "govuk-list");
      c.versions.forEach(function (v) {
        other.appendChild(el("li", null, v["for"] + ": " + v.question + " (" + v.id + ")"));
      });
      row(dl, "Other versions", other);
    }
    row(dl, "Last reviewed", c.last_reviewed_text);
    var due = el("span", null, c.review_due_text + " ");
    if (c.overdue) due.appendChild(el("strong", "govuk-tag govuk-tag--red", "Overdue"));
    row(dl, "Review due", due);
    row(dl, "Entry", c.id + " (owner: " + c.owner + ")");
    content.appendChild(dl);

    var group = el("div", "govuk-button-group govuk-!-margin-bottom-0");
    var used = el("button", "govuk-button govuk-!-margin-bottom-2", "Used this");
    used.type = "button";
    used.id = "verdict-used";
    var wrong = el("button", "govuk-button govuk-button--secondary govuk-!-margin-bottom-2", "Not right");
    wrong.type = "button";
    wrong.id = "verdict-not-right";
    group.appendChild(used);
    group.appendChild(wrong);
    content.appendChild(group);
    var said = el("p", "govuk-body govuk-!-margin-bottom-0", "");
    said.id = "verdict-status";
    said.setAttribute("role", "status");
    said.tabIndex = -1;
    content.appendChild(said);
    used.addEventListener("click", function () { verdict(r, "used", said, [used, wrong]); });
    wrong.addEventListener("click", function () { verdict(r, "not_right", said, [used, wrong]); });
    card.appendChild(content);
    area.appendChild(card);
  }

  function verdict(r, kind, said, buttons) {
    buttons.forEach(function (b) { b.disabled = true; });
    fetch("/operator/api/verdict", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ query: state.query, entry_id: r.id, verdict: kind, filters: state.filters })
    })
      .then(function (resp) { return resp.json().then(function (d) { return { ok: resp.ok, data: d }; }); })
      .then(function (res) {
        if (!res.ok) throw new Error(res.data.error || "failed");
        said.textContent = res.data.message;
        said.focus();
      })
      .catch(function (e) {
        said.textContent = "Not recorded: " + e.message;
        buttons.forEach(function (b) { b.disabled = false; });
        said.focus();
      });
  }

  // ---- copy ----------------------------------------------------------------------------------

  function scriptText() {
    var r = state.results[state.index];
    if (!r) return "";
    var c = r.card;
    var text = c.say;
    if (c.ask && c.ask.length) text += "\n\nAsk the caller:\n- " + c.ask.join("\n- ");
    if (c.referrals && c.referrals.length) {
      text += "\n\nRefer to:\n" + c.referrals.map(function (o) {
        return "- " + [o.name, o.phone, o.email, o.web].filter(Boolean).join(", ");
      }).join("\n");
    }
    return text;
  }

  function copy() {
    var text = scriptText();
    if (!text) { copyStatus.textContent = "Choose a match first."; return; }
    var done = function () { copyStatus.textContent = "Script copied."; };
    var fallback = function () {
      var t = el("textarea", "govuk-visually-hidden");
      t.value = text;
      document.body.appendChild(t);
      t.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(t);
      copyStatus.textContent = ok ? "Script copied." : "Could not copy: select the text and copy it.";
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  }

  // ---- keyboard ------------------------------------------------------------------------------

  try { singleKeys.checked = window.localStorage.getItem(KEYS_PREF) !== "0"; } catch (e) { /* keep default */ }
  singleKeys.addEventListener("change", function () {
    try { window.localStorage.setItem(KEYS_PREF, singleKeys.checked ? "1" : "0"); } catch (e) { /* session only */ }
  });

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (e) {
    var key = e.key;
    if ((e.ctrlKey || e.metaKey) && !e.altKey && (key === "k" || key === "K")) {
      e.preventDefault();
      q.focus();
      q.select();
      return;
    }
    if (e.altKey && !e.ctrlKey && !e.metaKey && e.code === "KeyC") {
      e.preventDefault();
      copy();
      return;
    }
    if (e.target === q && (key === "ArrowDown" || key === "ArrowUp")) {
      e.preventDefault();
      move(key === "ArrowDown" ? 1 : -1);
      return;
    }
    if (!singleKeys.checked || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    if (key === "/") { e.preventDefault(); q.focus(); q.select(); }
    else if (key === "j") { e.preventDefault(); move(1); }
    else if (key === "k") { e.preventDefault(); move(-1); }
    else if (key === "c") { e.preventDefault(); copy(); }
  });

  q.addEventListener("input", function () {
    clearTimeout(state.timer);
    state.timer = setTimeout(search, 150);
  });
  Object.keys(filters).forEach(function (k) {
    document.getElementById(filters[k]).addEventListener("change", search);
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); search(); });
})();
