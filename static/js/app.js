/*
 * Rapport — the app shell's behaviour.
 *
 * The Content-Security-Policy allows scripts from our origin only, so templates carry no
 * inline handlers: they mark elements with data-* attributes and this file listens. Listeners
 * are delegated to the document, so markup swapped in later by HTMX works without re-binding.
 */
(function () {
  "use strict";

  // Language switcher: a <select> inside <form data-autosubmit> submits its form on change.
  // Without JavaScript the form shows its own submit button (inside <noscript>).
  function onChange(event) {
    var select = event.target;
    if (!(select instanceof HTMLSelectElement)) return;
    var form = select.closest("form[data-autosubmit]");
    if (!form) return;
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit();
    } else {
      form.submit();
    }
  }

  // Mobile navigation: the menu button shows and hides the sidebar panel.
  function setNavOpen(toggle, open) {
    var sidebar = toggle.closest("[data-sidebar]");
    if (!sidebar) return;
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    sidebar.classList.toggle("is-open", open);
  }

  function onClick(event) {
    var target = event.target;
    if (!(target instanceof Element)) return;

    var toggle = target.closest("[data-nav-toggle]");
    if (toggle) {
      setNavOpen(toggle, toggle.getAttribute("aria-expanded") !== "true");
      return;
    }

    // Dismissible alerts: remove the message and put focus somewhere sensible.
    var dismiss = target.closest("[data-dismiss]");
    if (dismiss) {
      var alert = dismiss.closest("[data-dismissible]");
      if (!alert) return;
      var list = alert.parentElement;
      alert.remove();
      if (list && list.matches("[data-messages]") && !list.children.length) list.remove();
      var main = document.getElementById("main");
      if (main) main.focus({ preventScroll: true });
    }
  }

  function onKeydown(event) {
    if (event.key !== "Escape") return;
    var toggle = document.querySelector('[data-nav-toggle][aria-expanded="true"]');
    if (toggle) {
      setNavOpen(toggle, false);
      toggle.focus();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.addEventListener("change", onChange);
    document.addEventListener("click", onClick);
    document.addEventListener("keydown", onKeydown);

    // A wide window has no menu button: forget an open mobile menu when the layout changes.
    var wide = window.matchMedia("(min-width: 60.0625rem)");
    var onWide = function () {
      if (!wide.matches) return;
      document.querySelectorAll("[data-nav-toggle]").forEach(function (toggle) {
        setNavOpen(toggle, false);
      });
    };
    if (typeof wide.addEventListener === "function") wide.addEventListener("change", onWide);
  });
})();
