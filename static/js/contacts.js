/*
 * Rapport — contact pages: bulk selection on the contact list and tidy HTMX filter URLs.
 *
 * Loaded with `defer` by the contact pages. Everything here is an enhancement: without
 * JavaScript the forms submit normally. Listeners are delegated to the document, so rows
 * swapped in by HTMX work without re-binding.
 */
(function () {
  "use strict";

  // --- Bulk actions: "tick all", the count of ticked rows, and a quiet bar until one is ticked.
  function bulkForm(element) {
    return element.closest("form[data-bulk]");
  }

  function refreshBulk(form) {
    if (!form) return;
    var rows = form.querySelectorAll("input[data-bulk-row]");
    var ticked = form.querySelectorAll("input[data-bulk-row]:checked").length;
    var all = form.querySelector("input[data-bulk-all]");
    if (all) {
      all.checked = rows.length > 0 && ticked === rows.length;
      all.indeterminate = ticked > 0 && ticked < rows.length;
    }
    var count = form.querySelector("[data-bulk-count]");
    if (count) count.textContent = ticked ? String(ticked) : "";
    var bar = form.querySelector("[data-bulk-bar]");
    if (bar) bar.classList.toggle("is-idle", ticked === 0);
  }

  function onChange(event) {
    var target = event.target;
    if (!(target instanceof HTMLInputElement)) return;
    if (target.matches("[data-bulk-all]")) {
      var form = bulkForm(target);
      if (!form) return;
      form.querySelectorAll("input[data-bulk-row]").forEach(function (box) {
        box.checked = target.checked;
      });
      refreshBulk(form);
    } else if (target.matches("[data-bulk-row]")) {
      refreshBulk(bulkForm(target));
    }
  }

  function refreshAll() {
    document.querySelectorAll("form[data-bulk]").forEach(refreshBulk);
  }

  // --- Filter forms: leave empty fields out of the request (and so out of the pushed URL).
  function onConfigRequest(event) {
    var detail = event.detail;
    if (!detail || detail.verb !== "get") return;
    var source = detail.elt;
    if (!(source instanceof Element) || !source.closest("[data-strip-empty]")) return;
    Array.from(detail.formData.keys()).forEach(function (name) {
      var values = detail.formData.getAll(name).filter(function (value) {
        return typeof value !== "string" || value.trim() !== "";
      });
      if (values.length === 0) delete detail.parameters[name];
    });
  }

  // --- On a phone, fold the filters away unless one is in use (they stay open without JS).
  var narrow = window.matchMedia("(max-width: 40rem)");

  function foldFiltersOnNarrowScreens() {
    document.querySelectorAll("details[data-collapse-narrow]").forEach(function (details) {
      // Wide screens have no toggle to open them with, so there they are always open.
      details.open = !narrow.matches || !!details.querySelector(".filters__toggle .badge");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    foldFiltersOnNarrowScreens();
    if (typeof narrow.addEventListener === "function") {
      narrow.addEventListener("change", foldFiltersOnNarrowScreens);
    }
    document.addEventListener("change", onChange);
    document.body.addEventListener("htmx:configRequest", onConfigRequest);
    document.body.addEventListener("htmx:afterSettle", refreshAll);
    refreshAll();
  });
})();
