/*
 * Rapport — outreach editors (message templates and campaigns).
 *
 * Loaded with `defer` by those pages; the live preview itself is plain HTMX markup. This file
 * only adds the placeholder buttons: a click inserts "{{ name }}" where the cursor was in the
 * subject or text last edited, and fires an input event so the preview follows.
 */
(function () {
  "use strict";

  var lastField = null;

  function onFocusIn(event) {
    var target = event.target;
    if (!(target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement)) return;
    if (!target.closest("form[data-placeholder-target], #message-form, #campaign-form")) return;
    if (/^(subject|body_text)_/.test(target.name) && !target.disabled) lastField = target;
  }

  function onClick(event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var button = target.closest("[data-insert-placeholder]");
    if (!button) return;
    var field = lastField || document.querySelector("textarea[name^='body_text_']:not([disabled])");
    if (!field) return;
    var text = "{{ " + button.getAttribute("data-insert-placeholder") + " }}";
    var start = field.selectionStart == null ? field.value.length : field.selectionStart;
    var end = field.selectionEnd == null ? start : field.selectionEnd;
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.focus();
    field.setSelectionRange(start + text.length, start + text.length);
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.addEventListener("focusin", onFocusIn);
    document.addEventListener("click", onClick);
  });
})();
