// The takes carousel: one take at a time, previous/next by button, arrow key or swipe; the take
// shown can be edited in place (a screenplay editor that formats each line as it is typed) or
// written again ("Regenerate this take"). No imports: works offline in JupyterLab and under
// `workbench serve`.

// ---- the screenplay line rules of workbench/story/screenplay.py (parse_scene), line by line
const HEADING_RE = /^(?:INT\.\/EXT|INT\/EXT|I\/E|INT|EXT|EST)[.\s]/i;
// a cue: upper-case letters (any script), digits, spaces and a few marks; at least one letter
const CUE_RE = /^(?=.*\p{L})(?![a-z])[\p{L}\p{N}][^a-z]*$/u;
const CUE_EXTENSION_RE = /\s*\((?:[^)]*)\)\s*$/;
const TRANSITION_RE = /^[A-Z\s.\-']+TO:$/;

function normaliseCue(cue) {
  cue = cue.trim();
  if (cue.startsWith("@")) cue = cue.slice(1);
  if (cue.endsWith("^")) cue = cue.slice(0, -1).trimEnd();
  for (;;) {
    const next = cue.replace(CUE_EXTENSION_RE, "");
    if (next === cue) break;
    cue = next;
  }
  return cue.trim();
}

function isCue(s, next) {
  if (!s || next === undefined || !next.trim()) return false;
  if (s.startsWith("@")) return true;
  if (s.startsWith("!") || s.startsWith(".") || s.startsWith(">") || HEADING_RE.test(s)) return false;
  const bare = normaliseCue(s);
  if (!bare || [...bare].length > 40 || (bare.endsWith(":") && TRANSITION_RE.test(bare))) return false;
  return CUE_RE.test(bare) && !TRANSITION_RE.test(s);
}

// The kind of each line: heading, action, character, parenthetical, dialogue, transition or blank.
export function classifyLines(lines) {
  const kinds = new Array(lines.length).fill("blank");
  let prevBlank = true;
  let i = 0;
  while (i < lines.length) {
    const s = lines[i].replace(/\t/g, "    ").trim();
    const next = lines[i + 1];
    if (!s) {
      prevBlank = true;
      i += 1;
      continue;
    }
    if (prevBlank && (HEADING_RE.test(s) || (s.startsWith(".") && !s.startsWith("..")))) {
      kinds[i] = "heading";
    } else if (s.startsWith(">") && !s.endsWith("<")) {
      kinds[i] = "transition";
    } else if (prevBlank && TRANSITION_RE.test(s) && (next === undefined || !next.trim())) {
      kinds[i] = "transition";
    } else if (prevBlank && isCue(s, next)) {
      kinds[i] = "character";
      i += 1;
      while (i < lines.length && lines[i].trim()) {
        const d = lines[i].trim();
        kinds[i] = d.startsWith("(") && d.endsWith(")") ? "parenthetical" : "dialogue";
        i += 1;
      }
      prevBlank = false;
      continue;
    } else {
      kinds[i] = "action";
    }
    prevBlank = false;
    i += 1;
  }
  return kinds;
}

// ---- the editor's text: one <div> per line; whatever the browser made of it is read back as lines
const BLOCKS = new Set(["DIV", "P", "LI", "H1", "H2", "H3", "H4", "H5", "H6", "PRE", "BLOCKQUOTE"]);

function readLines(root, caretNode, caretOffset) {
  const lines = [""];
  let pending = false; // a block ended: what comes next starts a new line
  let caret = null;
  const mark = () => { caret = [lines.length - 1, lines[lines.length - 1].length]; };
  const add = (text) => {
    const parts = text.split("\n");
    parts.forEach((part, k) => {
      if (k > 0) lines.push("");
      lines[lines.length - 1] += part;
    });
  };
  const walk = (node) => {
    if (node.nodeType === 3) {
      if (pending) { lines.push(""); pending = false; }
      if (node === caretNode) {
        add(node.nodeValue.slice(0, caretOffset));
        mark();
        add(node.nodeValue.slice(caretOffset));
      } else add(node.nodeValue);
      return;
    }
    if (node.nodeType !== 1) return;
    if (node.nodeName === "BR") {
      if (pending) { lines.push(""); pending = false; }
      const parent = node.parentNode;
      // a <br> that ends a block (or the editor) only holds its line open: no new line
      const last = parent && node === parent.lastChild && (parent === root || BLOCKS.has(parent.nodeName));
      if (!last) lines.push("");
      return;
    }
    const block = node !== root && BLOCKS.has(node.nodeName);
    if (block && (pending || lines[lines.length - 1] !== "")) lines.push("");
    if (block) pending = false;
    const kids = [...node.childNodes];
    kids.forEach((kid, k) => {
      if (node === caretNode && k === caretOffset) {
        if (pending) { lines.push(""); pending = false; }
        mark();
      }
      walk(kid);
    });
    if (node === caretNode && caretOffset >= kids.length) mark();
    if (block) pending = true;
  };
  walk(root);
  return { lines, caret };
}

function isCanonical(root, count) {
  if (root.childNodes.length !== count) return false;
  for (const div of root.childNodes) {
    if (div.nodeName !== "DIV" || div.childNodes.length !== 1) return false;
    const only = div.firstChild;
    if (only.nodeName === "BR") continue;
    if (only.nodeType !== 3 || only.nodeValue === "" || only.nodeValue.includes("\n")) return false;
  }
  return true;
}

export function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "wb-carousel";
  root.tabIndex = 0;
  root.style.cssText = "outline:none;touch-action:pan-y;user-select:text";
  const bar = document.createElement("div");
  bar.style.cssText = "display:flex;align-items:center;gap:8px;margin-bottom:4px;flex-wrap:wrap";
  const button = (cls, text, title) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.textContent = text;
    if (title) b.title = title;
    return b;
  };
  const prev = button("wb-prev", "◀", "Previous take");
  const next = button("wb-next", "▶", "Next take");
  const label = document.createElement("span");
  label.className = "wb-carousel-label";
  label.style.cssText = "font:13px system-ui,sans-serif;color:#374151";
  const tools = document.createElement("span");
  tools.style.cssText = "margin-left:12px;display:flex;gap:6px;flex-wrap:wrap";
  const editButton = button("wb-edit-take", "✎ Edit", "Edit this take in place (E, or Enter on the take)");
  const regenButton = button("wb-regenerate-take", "↻ Regenerate this take",
                             "Write this take again with a new seed (the same plan), in its place");
  tools.append(editButton, regenButton);
  bar.append(prev, label, next, tools);
  const body = document.createElement("div");
  body.className = "wb-carousel-body";
  root.append(bar, body);

  const look = (kind) => (model.line_styles || {})[kind] || "";
  let editor = null; // the in-place editor while editing
  let editingId = null;

  const count = () => (model.takes || []).length;
  const shownIndex = () => Math.min(Math.max(model.index, 0), count() - 1);
  const go = (i) => {
    const n = count();
    if (n === 0 || editor) return;
    model.index = ((i % n) + n) % n;
  };

  const paint = (lines) => {
    const kinds = classifyLines(lines);
    editor.childNodes.forEach((div, k) => {
      const kind = kinds[k] || "blank";
      if (div.dataset.kind !== kind) {
        div.dataset.kind = kind;
        div.className = `wb-line wb-line-${kind}`;
        div.style.cssText = "min-height:1.35em;" + look(kind);
      }
    });
  };
  const build = (lines) => {
    editor.replaceChildren(...lines.map((line) => {
      const div = document.createElement("div");
      if (line) div.textContent = line; else div.append(document.createElement("br"));
      return div;
    }));
  };
  const placeCaret = (line, col) => {
    const div = editor.childNodes[Math.min(line, editor.childNodes.length - 1)];
    if (!div) return;
    const range = document.createRange();
    const text = div.firstChild;
    if (text && text.nodeType === 3) range.setStart(text, Math.min(col, text.nodeValue.length));
    else range.setStart(div, 0);
    range.collapse(true);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  };
  const selection = () => {
    const rootNode = editor.getRootNode();
    const sel = rootNode.getSelection ? rootNode.getSelection() : window.getSelection();
    if (sel && sel.rangeCount && editor.contains(sel.focusNode)) return [sel.focusNode, sel.focusOffset];
    return [null, 0];
  };
  // after each change: the lines read back, the DOM made one <div> per line again when the browser
  // made something else of it (a paste, Enter in the middle of a line), and every line formatted
  const tidy = () => {
    const [node, offset] = selection();
    const { lines, caret } = readLines(editor, node, offset);
    if (!isCanonical(editor, lines.length)) {
      build(lines);
      if (caret) placeCaret(caret[0], caret[1]);
    }
    paint(lines);
  };
  const text = () => readLines(editor, null, 0).lines.join("\n").replace(/\u00a0/g, " ");

  const finish = () => {
    editor = null;
    editingId = null;
    draw();
  };
  const save = () => {
    if (!editor) return;
    model.send_msg({ action: "save", id: editingId, text: text() });
  };
  const cancel = () => {
    model.editing = false;
    finish();
  };
  const startEditing = () => {
    const takes = model.takes || [];
    if (!takes.length || model.busy) {
      model.editing = false;
      return;
    }
    const take = takes[shownIndex()];
    editingId = take.id;
    const frame = document.createElement("div");
    frame.className = "wb-inplace wb-take";
    frame.dataset.takeId = take.id;
    frame.style.cssText =
      "border:1px solid #c2410c;border-radius:10px;padding:12px 14px;margin:6px 0;background:#fff;" +
      "max-width:760px";
    const hint = document.createElement("div");
    hint.className = "wb-inplace-hint";
    hint.style.cssText = "color:#6b7280;font:12px system-ui,sans-serif;margin-bottom:6px";
    hint.textContent =
      "Editing in place: each line takes its screenplay form as you type. Ctrl+S (or Ctrl+Enter) " +
      "saves it as a new take; Esc cancels.";
    editor = document.createElement("div");
    editor.className = "wb-inplace-editor wb-own-keys wb-screenplay";
    editor.contentEditable = "true";
    editor.spellcheck = true;
    editor.setAttribute("role", "textbox");
    editor.setAttribute("aria-multiline", "true");
    editor.setAttribute("aria-label", "The take's screenplay text");
    editor.style.cssText = (model.font || "") + ";outline:none;min-height:6em;white-space:pre-wrap";
    const lines = (take.text || "").replace(/\r\n?/g, "\n").split("\n");
    build(lines);
    paint(lines);
    const row = document.createElement("div");
    row.style.cssText = "display:flex;gap:8px;margin-top:8px";
    const saveButton = button("wb-save-inplace", "Save as a new take", "Ctrl+S or Ctrl+Enter");
    const cancelButton = button("wb-cancel-inplace", "Cancel", "Esc");
    saveButton.addEventListener("click", save);
    cancelButton.addEventListener("click", cancel);
    row.append(saveButton, cancelButton);
    editor.addEventListener("input", (ev) => { if (!ev.isComposing) tidy(); });
    editor.addEventListener("compositionend", tidy);
    editor.addEventListener("paste", (ev) => {
      ev.preventDefault();
      const pasted = (ev.clipboardData && ev.clipboardData.getData("text/plain")) || "";
      document.execCommand("insertText", false, pasted);
      tidy();
    });
    editor.addEventListener("keydown", (ev) => {
      const ctrl = ev.ctrlKey || ev.metaKey;
      if (ctrl && (ev.key === "s" || ev.key === "S" || ev.key === "Enter")) {
        ev.preventDefault();
        save();
      } else if (ev.key === "Escape") {
        ev.preventDefault();
        cancel();
      }
    });
    frame.append(hint, editor, row);
    body.replaceChildren(frame);
    body.dataset.takeId = take.id;
    label.textContent = `Take ${shownIndex() + 1} of ${takes.length} · editing`;
    buttons();
    editor.focus();
    placeCaret(lines.length - 1, lines[lines.length - 1].length);
  };

  const buttons = () => {
    const n = count();
    prev.disabled = next.disabled = n < 2 || !!editor;
    editButton.disabled = n === 0 || !!model.busy || !!editor;
    regenButton.disabled = n === 0 || !!model.busy || !!editor;
  };
  const draw = () => {
    const takes = model.takes || [];
    const n = takes.length;
    if (editor && takes.some((t) => t.id === editingId)) {
      // the take being edited is still there: keep the writer's words, update the label only
      const i = takes.findIndex((t) => t.id === editingId);
      label.textContent = `Take ${i + 1} of ${n} · editing`;
      buttons();
      return;
    }
    editor = null;
    editingId = null;
    buttons();
    if (n === 0) {
      label.textContent = "No takes yet";
      body.innerHTML = "";
      return;
    }
    const i = shownIndex();
    label.textContent = `Take ${i + 1} of ${n}` + (takes[i].label ? ` · ${takes[i].label}` : "");
    body.innerHTML = takes[i].html;
    body.dataset.takeId = takes[i].id;
  };

  prev.addEventListener("click", () => go(model.index - 1));
  next.addEventListener("click", () => go(model.index + 1));
  editButton.addEventListener("click", () => { model.editing = true; });
  regenButton.addEventListener("click", () => {
    const takes = model.takes || [];
    if (takes.length) model.send_msg({ action: "regenerate", id: takes[shownIndex()].id });
  });
  root.addEventListener("keydown", (ev) => {
    if (editor) return; // the editor's keys are its own
    if (ev.target !== root) return; // not from a button or a link inside the card
    if (ev.key === "ArrowLeft") go(model.index - 1);
    if (ev.key === "ArrowRight") go(model.index + 1);
    if ((ev.key === "Enter" || ev.key === "e" || ev.key === "E") && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
      ev.preventDefault();
      model.editing = true;
    }
  });
  let startX = null;
  root.addEventListener("pointerdown", (ev) => { startX = editor ? null : ev.clientX; });
  root.addEventListener("pointerup", (ev) => {
    if (startX === null || editor) return;
    const dx = ev.clientX - startX;
    startX = null;
    if (Math.abs(dx) > 50) go(model.index + (dx < 0 ? 1 : -1));
  });
  model.on("takes", draw);
  model.on("index", draw);
  model.on("busy", buttons);
  model.on("editing", () => {
    if (model.editing && !editor) startEditing();
    else if (!model.editing && editor) finish();
  });
  draw();
  if (model.editing) startEditing();
  return root;
}
