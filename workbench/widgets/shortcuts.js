// Keyboard shortcuts for one view, and a "Keys" button whose popover lists them.
// A key combination listed in `keys` (e.g. "ctrl+enter", "alt+arrowleft", "ctrl+shift+z") is sent
// to Python with send_msg while the view is shown (a view in a closed tab does not answer).
// Combinations marked `text: false` are left to a text box that has the focus (Ctrl+Z there
// undoes typing, not the story); an element of class `wb-own-keys` keeps every key to itself, and
// rows marked `help_only` are listed but not caught. No imports: works offline in JupyterLab and under `workbench serve`.
export function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "wb-shortcuts";
  root.style.cssText = "position:relative;display:inline-block;font:13px system-ui,sans-serif";
  const button = document.createElement("button");
  button.className = "wb-shortcuts-button";
  button.type = "button";
  button.textContent = "⌨ Keys";
  button.title = "Keyboard shortcuts";
  button.setAttribute("aria-expanded", "false");
  button.style.cssText =
    "border:1px solid #d1d5db;border-radius:4px;background:#fff;padding:4px 8px;cursor:pointer";
  const pop = document.createElement("div");
  pop.className = "wb-shortcuts-help";
  pop.setAttribute("role", "dialog");
  pop.style.cssText =
    "display:none;position:absolute;z-index:20;top:110%;right:0;min-width:260px;background:#fff;" +
    "border:1px solid #d1d5db;border-radius:6px;box-shadow:0 4px 12px rgba(0,0,0,.12);padding:8px 10px";
  root.append(button, pop);

  const pretty = (combo) =>
    combo
      .split("+")
      .map((k) => ({ ctrl: "Ctrl", shift: "Shift", alt: "Alt", arrowleft: "←", arrowright: "→",
                     arrowup: "↑", arrowdown: "↓", enter: "Enter", escape: "Esc" }[k] || k.toUpperCase()))
      .join("+");
  const draw = () => {
    const rows = (model.keys || [])
      .map((k) => `<tr><td style="padding:2px 10px 2px 0;white-space:nowrap"><kbd>${pretty(k.combo)}</kbd>` +
                  `</td><td>${k.label}</td></tr>`)
      .join("");
    pop.innerHTML = `<b>Keyboard shortcuts</b><table style="margin-top:4px;border-collapse:collapse">${rows}</table>`;
  };
  const toggle = (open) => {
    pop.style.display = open ? "block" : "none";
    button.setAttribute("aria-expanded", open ? "true" : "false");
  };
  button.addEventListener("click", () => toggle(pop.style.display === "none"));

  const comboOf = (ev) => {
    const parts = [];
    if (ev.ctrlKey || ev.metaKey) parts.push("ctrl");
    if (ev.shiftKey) parts.push("shift");
    if (ev.altKey) parts.push("alt");
    parts.push((ev.key || "").toLowerCase());
    return parts.join("+");
  };
  const typing = (ev) => {
    const t = (ev.composedPath && ev.composedPath()[0]) || ev.target;
    return !!t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  };
  // a part of the view with keys of its own (the in-place take editor: Ctrl+Enter saves there)
  const ownKeys = (ev) => {
    const path = ev.composedPath ? ev.composedPath() : [];
    return path.some((n) => n.classList && n.classList.contains("wb-own-keys"));
  };
  // With several views on one page (a notebook), the keys go to the view clicked last: the
  // element of this view whose class is `scope`, found across shadow roots.
  const viewRoot = () => {
    let node = el;
    while (node) {
      if (node.classList && model.scope && node.classList.contains(model.scope)) return node;
      node = node.parentNode || node.host;
    }
    return null;
  };
  const me = {};
  const onPointer = (ev) => {
    const mine = viewRoot();
    if (mine && ev.composedPath().includes(mine)) window.__wbKeysActive = me;
  };
  const onKey = (ev) => {
    if (ev.key === "Escape") toggle(false);
    if (!root.isConnected || root.getClientRects().length === 0) return; // not shown
    if (window.__wbKeysActive && window.__wbKeysActive !== me && window.__wbKeysActive.shown()) return;
    const combo = comboOf(ev);
    if (ownKeys(ev)) return;
    const hit = (model.keys || []).find((k) => k.combo === combo && !k.help_only);
    if (!hit || (hit.text === false && typing(ev))) return;
    ev.preventDefault();
    ev.stopPropagation();
    model.send_msg({ combo });
  };
  me.shown = () => root.isConnected && root.getClientRects().length > 0;
  document.addEventListener("keydown", onKey, true);
  document.addEventListener("pointerdown", onPointer, true);
  model.on("remove", () => {
    document.removeEventListener("keydown", onKey, true);
    document.removeEventListener("pointerdown", onPointer, true);
    if (window.__wbKeysActive === me) window.__wbKeysActive = null;
  });
  model.on("keys", draw);
  draw();
  return root;
}
