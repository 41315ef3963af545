/*
 * Rapport — the customer portal's behaviour (loaded after app.js on portal pages).
 *
 * The Content-Security-Policy allows no inline script, so templates mark elements with data-*
 * attributes and this file listens (delegated to the document):
 *   [data-copy="#id"]         copies the target's value or text; a visible fallback selects it
 *   [data-select-on-focus]    selects an input's whole value when focused
 *   form[data-once]           sends once: a second click or Enter does nothing (the server also
 *                             redeems once per form token, so this only spares a round trip)
 *   [data-detect-timezone]    a hidden input filled with the browser's IANA time zone
 *   [data-portal-nav]         the scrollable navigation shows its current item
 */
(function () {
  "use strict";

  function textOf(target) {
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) {
      return target.value;
    }
    return (target.textContent || "").trim();
  }

  function select(target) {
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) {
      target.focus();
      target.select();
      return;
    }
    var range = document.createRange();
    range.selectNodeContents(target);
    var selection = window.getSelection();
    if (selection) {
      selection.removeAllRanges();
      selection.addRange(range);
    }
  }

  function scopeOf(button) {
    return button.closest("section, form, .card") || document;
  }

  function announce(button, message) {
    var status = scopeOf(button).querySelector("[data-copy-status]");
    if (status) status.textContent = message;
  }

  function copied(button) {
    var label = button.querySelector("span");
    var message = button.getAttribute("data-copied") || "";
    if (label && message) {
      var original = label.textContent;
      label.textContent = message;
      button.classList.add("is-copied");
      window.setTimeout(function () {
        label.textContent = original;
        button.classList.remove("is-copied");
      }, 2000);
    }
    announce(button, message);
  }

  function copyFailed(button, target) {
    select(target);
    var fallback = scopeOf(button).querySelector("[data-copy-fallback]");
    if (fallback) fallback.hidden = false;
  }

  function copy(button) {
    var target = document.querySelector(button.getAttribute("data-copy"));
    if (!target) return;
    var text = textOf(target);
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () {
          copied(button);
        },
        function () {
          copyFailed(button, target);
        }
      );
      return;
    }
    // Plain http (a demo on the LAN): the older command still works while text is selected.
    select(target);
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (error) {
      ok = false;
    }
    if (ok) {
      copied(button);
    } else {
      copyFailed(button, target);
    }
  }

  function onClick(event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var button = target.closest("[data-copy]");
    if (button) {
      event.preventDefault();
      copy(button);
    }
  }

  function onFocusIn(event) {
    var target = event.target;
    if (target instanceof HTMLInputElement && target.hasAttribute("data-select-on-focus")) {
      target.select();
    }
  }

  function onSubmit(event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-once")) return;
    if (form.getAttribute("data-sent") === "true") {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-sent", "true");
    form.setAttribute("aria-busy", "true");
    // Disable after the browser has collected the form, or the submit would lose its data.
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.disabled = true;
      });
    }, 0);
  }

  function resetOnceForms() {
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      form.removeAttribute("data-sent");
      form.removeAttribute("aria-busy");
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.disabled = false;
      });
    });
  }

  function detectTimezone() {
    var zone = "";
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      zone = "";
    }
    if (!zone) return;
    document.querySelectorAll("input[data-detect-timezone]").forEach(function (input) {
      if (!input.value) input.value = zone;
    });
  }

  function showCurrentNavItem() {
    document.querySelectorAll("[data-portal-nav]").forEach(function (list) {
      var current = list.querySelector("[aria-current=page]");
      if (!current || list.scrollWidth <= list.clientWidth) return;
      var item = current.closest("li") || current;
      list.scrollLeft = item.offsetLeft - (list.clientWidth - item.offsetWidth) / 2;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.addEventListener("click", onClick);
    document.addEventListener("focusin", onFocusIn);
    document.addEventListener("submit", onSubmit);
    detectTimezone();
    showCurrentNavItem();
  });

  // Coming back with the browser's Back button shows the page as it was left: enable it again.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) resetOnceForms();
  });
})();
