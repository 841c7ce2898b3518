// rhinoapp RemoteView: shows frames rendered on the server and sends mouse, wheel and keys back.
// Drag: rotate. Shift-drag or right-drag: pan. Wheel: zoom. Arrow keys and +/- do the same.
// At most one interaction message is in flight: the next one carries everything that
// accumulated meanwhile, so a slow render never builds a queue.

function resolveUrl(model) {
  const path = model.path
  if (!model.port) return new URL(path, window.location.href)
  let base = null
  const config = document.getElementById("jupyter-config-data")
  if (config) {
    try { base = JSON.parse(config.textContent).baseUrl } catch (e) { base = null }
  }
  base = base || document.body.dataset.baseUrl || null
  if (model.proxy && base) {
    return new URL(`${base.replace(/\/?$/, "/")}proxy/${model.port}/${path}`, window.location.href)
  }
  return new URL(`http://127.0.0.1:${model.port}/${path}`)
}

function button(label, title, onClick) {
  const b = document.createElement("button")
  b.type = "button"
  b.textContent = label
  b.title = title
  b.addEventListener("click", onClick)
  return b
}

export function render({ model, el }) {
  const root = document.createElement("div")
  root.className = "rh-rv"
  root.dataset.state = "connecting"
  const bar = document.createElement("div")
  bar.className = "rh-rv-bar"
  const stage = document.createElement("div")
  stage.className = "rh-rv-stage"
  stage.tabIndex = 0
  stage.setAttribute("role", "img")
  stage.setAttribute("aria-label", model.label || "3D view")
  const img = document.createElement("img")
  img.className = "rh-rv-frame"
  img.alt = model.label || "3D view"
  img.draggable = false
  const note = document.createElement("div")
  note.className = "rh-rv-message"
  note.setAttribute("role", "status")
  stage.append(img, note)
  root.append(bar, stage)
  el.append(root)

  let ws = null, url = null, inflight = false, pending = null, timer = null, lastUrl = null, ended = false
  let drag = null
  const say = (text, state) => {
    note.textContent = text || ""
    note.style.display = text ? "flex" : "none"
    if (state) root.dataset.state = state
  }

  function send(message) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message))
  }
  function flush() {
    if (!pending || inflight) return
    send(pending)
    pending = null
    inflight = true
    clearTimeout(timer)
    timer = setTimeout(() => { inflight = false; flush() }, 400)
  }
  function queueMove(op, dx, dy, phase) {
    if (pending && pending.op === op && phase === "move") {
      pending.dx += dx; pending.dy += dy
    } else {
      if (pending) { send(pending); pending = null }
      pending = { op, dx, dy, phase }
    }
    if (phase !== "move") { send(pending); pending = null } else flush()
  }

  function connect() {
    if (!model.path) { say(model.message || "Nothing to show in 3D yet.", "empty"); return }
    url = resolveUrl(model)
    const target = new URL(url.href)
    target.protocol = url.protocol === "https:" ? "wss:" : "ws:"
    target.searchParams.set("width", Math.max(64, Math.round(stage.clientWidth || 640)))
    target.searchParams.set("height", Math.max(64, Math.round(stage.clientHeight || 480)))
    say("Starting the 3D view…", "connecting")
    ws = new WebSocket(target.href)
    ws.binaryType = "arraybuffer"
    ws.onmessage = (event) => {
      if (typeof event.data === "string") {
        const status = JSON.parse(event.data)
        if (status.kind === "failed") { ended = true; say(status.message, "failed") } else say(status.message)
        return
      }
      const view = new DataView(event.data)
      const size = view.getUint32(0)
      const header = JSON.parse(new TextDecoder().decode(new Uint8Array(event.data, 4, size)))
      const blob = new Blob([new Uint8Array(event.data, 4 + size)], { type: header.mime })
      const next = URL.createObjectURL(blob)
      img.onload = () => { if (lastUrl && lastUrl !== next) URL.revokeObjectURL(lastUrl); lastUrl = next }
      img.src = next
      img.dataset.seq = header.seq
      img.dataset.lod = header.lod
      img.dataset.triangles = header.triangles
      inflight = false
      say("", "streaming")
      flush()
    }
    ws.onclose = (event) => {
      ws = null
      if (ended || !el.isConnected) return
      ended = true
      say("The connection to the 3D view was lost. Reload the page to start it again.", "failed")
    }
  }

  for (const [value, label] of model.presets) {
    bar.append(button(label, `View from the ${label.toLowerCase()}`, () => send({ op: "camera", preset: value })))
  }
  const clipToggle = document.createElement("label")
  const clipBox = document.createElement("input")
  clipBox.type = "checkbox"
  const clipSlider = document.createElement("input")
  Object.assign(clipSlider, { type: "range", min: 0, max: 1, step: 0.01, value: 0.5, disabled: true })
  clipSlider.setAttribute("aria-label", "Clip position (patient right to left)")
  const sendClip = () => send({ op: "clip", clip: clipBox.checked ? { axis: "x", position: Number(clipSlider.value) } : null })
  clipBox.addEventListener("change", () => { clipSlider.disabled = !clipBox.checked; sendClip() })
  clipSlider.addEventListener("input", sendClip)
  clipToggle.append(clipBox, " Clip ")
  const shot = document.createElement("a")
  shot.textContent = "Screenshot"
  shot.className = "rh-rv-shot"
  shot.title = "Download a PNG of this view"
  shot.setAttribute("download", "rhinoapp-3d-view.png")
  shot.addEventListener("click", () => {
    const u = resolveUrl(model)
    shot.href = new URL(u.href.replace(/\/ws(\?|$)/, "/screenshot.png$1")).href
  })
  bar.append(clipToggle, clipSlider, shot)

  stage.addEventListener("contextmenu", (e) => e.preventDefault())
  stage.addEventListener("pointerdown", (e) => {
    stage.setPointerCapture(e.pointerId)
    stage.focus()
    drag = { x: e.clientX, y: e.clientY, op: e.button === 2 || e.shiftKey ? "pan" : "rotate" }
    queueMove(drag.op, 0, 0, "start")
  })
  stage.addEventListener("pointermove", (e) => {
    if (!drag) return
    const w = stage.clientWidth || 1, h = stage.clientHeight || 1
    queueMove(drag.op, (e.clientX - drag.x) / w, (e.clientY - drag.y) / h, "move")
    drag.x = e.clientX; drag.y = e.clientY
  })
  const release = () => { if (drag) { queueMove(drag.op, 0, 0, "end"); drag = null } }
  stage.addEventListener("pointerup", release)
  stage.addEventListener("pointercancel", release)
  stage.addEventListener("wheel", (e) => {
    e.preventDefault()
    send({ op: "zoom", factor: Math.pow(1.1, -e.deltaY / 100) })
  }, { passive: false })
  stage.addEventListener("keydown", (e) => {
    const steps = { ArrowLeft: [-0.03, 0], ArrowRight: [0.03, 0], ArrowUp: [0, -0.03], ArrowDown: [0, 0.03] }
    if (steps[e.key]) { e.preventDefault(); queueMove("rotate", ...steps[e.key], "end") }
    if (e.key === "+" || e.key === "=") send({ op: "zoom", factor: 1.15 })
    if (e.key === "-") send({ op: "zoom", factor: 1 / 1.15 })
  })

  let resizeTimer = null
  const observer = new ResizeObserver(() => {
    clearTimeout(resizeTimer)
    resizeTimer = setTimeout(() => send({ op: "resize", width: Math.round(stage.clientWidth), height: Math.round(stage.clientHeight) }), 150)
  })
  observer.observe(stage)
  const drop = () => { if (ws) { ws.onclose = null; ws.onmessage = null; ws.close(); ws = null } }
  model.on("remove", () => { ended = true; observer.disconnect(); drop() })
  model.on("path", () => { drop(); ended = false; connect() })
  model.on("message", () => { if (!model.path) say(model.message, "empty") })
  connect()
}
