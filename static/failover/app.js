/* dhcpadmin page behaviour: the htmx modal, context menus, the peer form's role fields.
 *
 * Everything here is an enhancement: each dialog also works as a plain page at its own URL.
 */
(function () {
  "use strict";

  const modalEl = document.getElementById("modal");
  const modalContent = document.getElementById("modal-content");

  function modal() {
    return window.bootstrap ? bootstrap.Modal.getOrCreateInstance(modalEl) : null;
  }

  function focusFirstField(root) {
    // Two queries: one selector list would return the first match in document order, so a
    // field before the invalid one would win.
    const field =
      root.querySelector("[autofocus], .is-invalid") ||
      root.querySelector(
        "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea"
      );
    if (field) field.focus();
  }

  /* --- the modal shell --------------------------------------------------------------- */

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target !== modalContent) return;
    const instance = modal();
    if (instance && !modalEl.classList.contains("show")) {
      instance.show();
    } else if (!instance) {
      focusFirstField(modalContent);
    }
  });

  // A dialog swapped into the open modal gets focus once settled: until then htmx leaves the
  // old attributes on an element that kept its id (a field's new is-invalid is not there yet).
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target === modalContent && modalEl.classList.contains("show")) {
      focusFirstField(modalContent);
    }
  });

  if (modalEl) {
    modalEl.addEventListener("shown.bs.modal", function () {
      focusFirstField(modalContent);
    });
    modalEl.addEventListener("hidden.bs.modal", function () {
      const refresh = modalContent.querySelector("[data-refresh-on-close]");
      modalContent.innerHTML = "";
      if (refresh) window.location.reload();
    });
  }

  // Sent by the server as HX-Trigger when a dialog's change succeeded.
  document.addEventListener("closeModal", function () {
    const instance = modal();
    if (instance) instance.hide();
  });

  /* --- errors from htmx requests ----------------------------------------------------- */

  const STATUS_TEXT = {
    403: "You do not have permission to change this.",
    404: "Not found: it may have been changed or deleted meanwhile. Reload the page.",
    405: "This action is not allowed here.",
  };

  function showAlert(text, kind) {
    const box = document.getElementById("alerts");
    if (!box) return;
    const alert = document.createElement("div");
    alert.className = "alert alert-" + (kind || "danger") + " alert-dismissible fade show";
    alert.setAttribute("role", "alert");
    alert.setAttribute("data-testid", "htmx-error");
    alert.textContent = text;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("data-bs-dismiss", "alert");
    close.setAttribute("aria-label", "Close");
    alert.appendChild(close);
    box.prepend(alert);
  }

  document.addEventListener("htmx:responseError", function (event) {
    const status = event.detail.xhr.status;
    const text = STATUS_TEXT[status] || "The server answered with an error (" + status + ").";
    const instance = modal();
    if (instance && modalEl.classList.contains("show")) instance.hide();
    showAlert(text);
  });

  document.addEventListener("htmx:sendError", function () {
    showAlert("The server could not be reached. Check the connection and try again.");
  });

  /* --- context menus ------------------------------------------------------------------ */
  // An element with data-menu='[{"label": "...", "url": "..."}, ...]' gets a right-click
  // menu; each item loads its URL into the modal (or opens it as a page without htmx).

  const menu = document.getElementById("context-menu");
  let menuOpener = null;

  function closeMenu(restoreFocus) {
    if (!menu || menu.hidden) return;
    menu.hidden = true;
    menu.innerHTML = "";
    if (restoreFocus && menuOpener) menuOpener.focus();
    menuOpener = null;
  }

  function openItem(item) {
    if (window.htmx) {
      htmx.ajax("GET", item.url, { target: "#modal-content", swap: "innerHTML" });
    } else {
      window.location.href = item.url;
    }
  }

  function openMenu(host, items, x, y) {
    menu.innerHTML = "";
    items.forEach(function (item) {
      // Not Bootstrap's .dropdown-menu: its keyboard handler would take over the arrow keys.
      const button = document.createElement("button");
      button.type = "button";
      button.className = "list-group-item list-group-item-action";
      button.setAttribute("role", "menuitem");
      button.textContent = item.label;
      button.addEventListener("click", function () {
        closeMenu(false);
        openItem(item);
      });
      menu.appendChild(button);
    });
    if (host.dataset.menuLabel) menu.setAttribute("aria-label", host.dataset.menuLabel);
    menuOpener = host;
    menu.hidden = false;
    // Placed in page coordinates, so it moves with the page when it scrolls.
    const width = menu.offsetWidth;
    const height = menu.offsetHeight;
    const left = Math.max(0, Math.min(x, window.innerWidth - width - 4));
    const top = Math.max(0, Math.min(y, window.innerHeight - height - 4));
    menu.style.left = left + window.scrollX + "px";
    menu.style.top = top + window.scrollY + "px";
    const first = menu.querySelector("[role=menuitem]");
    if (first) first.focus({ preventScroll: true });
  }

  document.addEventListener("contextmenu", function (event) {
    const host = event.target.closest("[data-menu]");
    if (!host || !menu) return;
    let items;
    try {
      items = JSON.parse(host.dataset.menu);
    } catch (e) {
      return;
    }
    if (!items.length) return;
    event.preventDefault();
    let x = event.clientX;
    let y = event.clientY;
    if (!x && !y) {
      // Opened from the keyboard (Shift+F10 / the menu key): place it at the element.
      const rect = host.getBoundingClientRect();
      x = rect.left + 16;
      y = rect.top + rect.height;
    }
    openMenu(host, items, x, y);
  });

  if (menu) {
    menu.addEventListener("keydown", function (event) {
      const items = Array.from(menu.querySelectorAll("[role=menuitem]"));
      const index = items.indexOf(document.activeElement);
      if (event.key === "Escape") {
        event.preventDefault();
        closeMenu(true);
      } else if (event.key === "ArrowDown") {
        event.preventDefault();
        items[(index + 1) % items.length].focus();
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        items[(index - 1 + items.length) % items.length].focus();
      } else if (event.key === "Home") {
        event.preventDefault();
        items[0].focus();
      } else if (event.key === "End") {
        event.preventDefault();
        items[items.length - 1].focus();
      } else if (event.key === "Tab") {
        closeMenu(false);
      }
    });
    document.addEventListener("click", function (event) {
      if (!menu.contains(event.target)) closeMenu(false);
    });
    window.addEventListener("resize", function () { closeMenu(false); });
  }

  /* --- the failover peer form: primary-only fields ------------------------------------ */
  // Fields wrapped in [data-primary-only] are hidden AND disabled for a secondary, so they
  // are not submitted; the server rejects them on a secondary anyway.

  function syncRole(form) {
    const role = form.querySelector("[data-role-select]");
    if (!role) return;
    const secondary = role.value === "secondary";
    form.querySelectorAll("[data-primary-only]").forEach(function (wrapper) {
      wrapper.hidden = secondary;
      wrapper.querySelectorAll("input, select, textarea").forEach(function (input) {
        input.disabled = secondary;
      });
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-role-select]") && event.target.form) {
      syncRole(event.target.form);
    }
  });

  /* --- selectable rows (the Failover Peers for … dialog) ------------------------------ */

  function syncSelection(form) {
    const chosen = form.querySelector("input[data-select-row]:checked");
    form.querySelectorAll("[data-needs-selection]").forEach(function (button) {
      button.disabled = !chosen;
    });
    form.querySelectorAll("tr[data-selectable]").forEach(function (row) {
      const radio = row.querySelector("input[data-select-row]");
      row.classList.toggle("table-active", !!(radio && radio.checked));
      row.setAttribute("aria-selected", radio && radio.checked ? "true" : "false");
    });
  }

  document.addEventListener("click", function (event) {
    const row = event.target.closest("tr[data-selectable]");
    if (!row || event.target.closest("a, button, input")) return;
    const radio = row.querySelector("input[data-select-row]");
    if (radio) {
      radio.checked = true;
      radio.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("input[data-select-row]") && event.target.form) {
      syncSelection(event.target.form);
    }
  });

  /* --- run on every piece of content htmx loads (and on the page itself) ------------ */

  function init(root) {
    const forms = Array.from(root.querySelectorAll("form"));
    if (root.matches && root.matches("form")) forms.unshift(root);
    forms.forEach(function (form) {
      syncRole(form);
      if (form.querySelector("input[data-select-row]")) syncSelection(form);
    });
  }

  if (window.htmx) {
    htmx.onLoad(init);
  } else {
    init(document);
  }
})();
