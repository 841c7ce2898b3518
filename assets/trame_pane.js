// The frame of a trame pane: hands the session's key to the pane's routes as a cookie scoped to
// /render/<view>/ (never in a URL), then loads the pane's page from Panel's own port.
export function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "rh-trame";
  box.style.cssText = "position:relative;width:100%;height:100%;min-height:200px;background:#1a1f29";
  const frame = document.createElement("iframe");
  frame.className = "rh-trame-frame";
  frame.style.cssText = "position:absolute;inset:0;width:100%;height:100%;border:0;display:block";
  const note = document.createElement("div");
  note.className = "rh-trame-message";
  note.style.cssText = "position:absolute;inset:0;display:flex;align-items:center;justify-content:center;color:#ddd";
  function load() {
    frame.title = model.label;
    const ready = Boolean(model.path && model.key);  // both: the route refuses a page without its key
    box.dataset.state = ready ? "loading" : (model.failed ? "failed" : "message");
    note.textContent = model.message;
    note.style.display = ready ? "none" : "flex";
    if (!ready) {
      frame.onload = null;  // the emptied frame's own load event must not say "loaded"
      frame.removeAttribute("src");
      return;
    }
    const folder = new URL(model.path, document.baseURI).pathname;
    const secure = window.location.protocol === "https:" ? "; Secure" : "";
    document.cookie = `rhinoapp_render_key=${model.key}; path=${folder}; SameSite=Strict${secure}`;
    frame.onload = () => { if (model.path) box.dataset.state = "loaded"; };
    // the pane's own websocket, so that trame's client connects at once instead of asking a session
    // launcher first (a POST to <pane>/paraview/ that no route serves: 405 in the console)
    const socket = new URL(`${folder}ws`, window.location.href);
    socket.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
    const session = encodeURIComponent(socket.href);
    frame.src = `${folder}index.html?r=${model.reload}&sessionURL=${session}`;  // a new query (not a fragment) loads it again
  }
  for (const name of ["path", "key", "reload", "message", "failed"]) {
    model.on(`change:${name}`, load);
  }
  box.dataset.scene = model.scene;  // a new scene for an open pane: its process draws it into the page
  model.on("change:scene", () => { box.dataset.scene = model.scene; });
  box.append(frame, note);
  el.append(box);
  load();
}
