// The page's behaviour: ask /api/segment, then draw each result in canvases, client-side, so
// that toggling a class or moving the opacity slider needs no new request.
"use strict";

const form = document.getElementById("ask");
const message = document.getElementById("message");
const statusLine = document.getElementById("status");
const opacity = document.getElementById("opacity");
const shown = [];  // one {result, indices, picture, enabled, canvases} per drawn result

function showMessage(text) {
  message.textContent = text;
  message.hidden = !text;
}

function hexToRgb(hex) {
  const value = parseInt(hex.slice(1), 16);
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}

async function describeModel() {
  const response = await fetch("/api/info");
  const info = await response.json();
  document.getElementById("model-line").textContent =
    `Model: ${info.method || "segmenter"} with ${info.class_names.length} classes of its own; ` +
    `any other name is adapted on the fly. Images up to ${info.max_megapixels} megapixels.`;
  const classes = document.getElementById("classes");
  classes.value = info.class_names.join(", ");
  const own = document.getElementById("own-classes");
  for (const name of info.class_names) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = name;
    button.addEventListener("click", () => {
      const names = classes.value.split(",").map((s) => s.trim()).filter(Boolean);
      if (!names.includes(name)) names.push(name);
      classes.value = names.join(", ");
    });
    own.appendChild(button);
  }
  const select = document.getElementById("example");
  for (const name of info.examples) {
    const option = document.createElement("option");
    option.value = option.textContent = name;
    select.appendChild(option);
  }
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = reject;
    image.src = url;
  });
}

function draw(entry) {
  const { result, indices, picture, enabled, overlay, labelMap } = entry;
  const alpha = Number(opacity.value) / 100;
  const colours = result.colours.map(hexToRgb);
  const overlayContext = overlay.getContext("2d");
  overlayContext.drawImage(picture, 0, 0);
  const blended = overlayContext.getImageData(0, 0, result.width, result.height);
  const labelContext = labelMap.getContext("2d");
  const labels = labelContext.createImageData(result.width, result.height);
  for (let pixel = 0; pixel < indices.length; pixel++) {
    const index = indices[pixel];
    const at = pixel * 4;
    labels.data[at + 3] = 255;
    if (!enabled[index]) continue;
    const [red, green, blue] = colours[index];
    blended.data[at] = (1 - alpha) * blended.data[at] + alpha * red;
    blended.data[at + 1] = (1 - alpha) * blended.data[at + 1] + alpha * green;
    blended.data[at + 2] = (1 - alpha) * blended.data[at + 2] + alpha * blue;
    labels.data[at] = red;
    labels.data[at + 1] = green;
    labels.data[at + 2] = blue;
  }
  overlayContext.putImageData(blended, 0, 0);
  labelContext.putImageData(labels, 0, 0);
}

function canvas(result, title) {
  const figure = document.createElement("figure");
  const element = document.createElement("canvas");
  element.width = result.width;
  element.height = result.height;
  const caption = document.createElement("figcaption");
  caption.textContent = title;
  figure.append(element, caption);
  return [figure, element];
}

async function addResult(result) {
  const section = document.createElement("section");
  section.className = "result";
  const heading = document.createElement("h2");
  heading.textContent = result.name;
  const pictures = document.createElement("div");
  pictures.className = "pictures";
  const [overlayFigure, overlay] = canvas(result, "overlay");
  overlay.className = "overlay";
  const [labelFigure, labelMap] = canvas(result, "label map");
  labelMap.className = "label-map";
  pictures.append(overlayFigure, labelFigure);

  const raw = atob(result.labels);
  const indices = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) indices[i] = raw.charCodeAt(i);
  const entry = {
    result, indices, overlay, labelMap,
    picture: await loadImage(result.image),
    enabled: result.class_names.map(() => true),
  };

  const legend = document.createElement("ul");
  legend.className = "legend";
  result.class_names.forEach((name, index) => {
    const item = document.createElement("li");
    const label = document.createElement("label");
    const toggle = document.createElement("input");
    toggle.type = "checkbox";
    toggle.checked = true;
    toggle.dataset.class = name;
    toggle.addEventListener("change", () => {
      entry.enabled[index] = toggle.checked;
      draw(entry);
    });
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = result.colours[index];
    const text = document.createElement("span");
    text.className = "class-name";
    text.textContent = name;
    label.append(toggle, swatch, text);
    item.appendChild(label);
    legend.appendChild(item);
  });

  const table = document.createElement("table");
  table.className = "areas";
  const total = result.width * result.height;
  table.innerHTML = "<tr><th>class</th><th>pixels</th><th>area</th></tr>";
  result.class_names.forEach((name, index) => {
    const row = table.insertRow();
    row.dataset.class = name;
    row.insertCell().textContent = name;
    row.insertCell().textContent = result.areas[index];
    row.insertCell().textContent = `${((100 * result.areas[index]) / total).toFixed(1)} %`;
  });

  const download = document.createElement("a");
  download.className = "download";
  download.href = result.label_png;
  download.download = result.name.replace(/\.[^.]*$/, "") + "_labels.png";
  download.textContent = "Download the label PNG (pixel value = class index in the legend's order)";

  section.append(heading, legend, pictures, table, download);
  document.getElementById("results").appendChild(section);
  shown.push(entry);
  draw(entry);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  showMessage("");
  statusLine.textContent = "segmenting\u2026";
  const button = document.getElementById("run");
  button.disabled = true;
  try {
    const response = await fetch("/api/segment", { method: "POST", body: new FormData(form) });
    let body;
    try {
      body = await response.json();
    } catch {
      body = { error: `the server answered ${response.status} without a result` };
    }
    if (!response.ok || body.error) {
      showMessage(body.error || `the server answered ${response.status}`);
      statusLine.textContent = "";
      return;
    }
    document.getElementById("results").replaceChildren();
    shown.length = 0;
    for (const result of body.results) await addResult(result);
    statusLine.textContent = `done: ${body.results.length} image(s)`;
  } catch (error) {
    showMessage(`the request failed: ${error}`);
    statusLine.textContent = "";
  } finally {
    button.disabled = false;
  }
});

opacity.addEventListener("input", () => shown.forEach(draw));
describeModel().catch((error) => showMessage(`could not describe the model: ${error}`));
