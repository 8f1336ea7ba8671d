/* The docs page of a naja_atra application.

   Loads the OpenAPI document from the URL in <body data-openapi> (relative to this page),
   renders each operation grouped by tag, and gives each a form that sends a request to the
   application and shows the answer. Every text of the document goes into the page as text
   (textContent), never as HTML. Sets <body data-state> to "ready" or "error" when done. */
"use strict";

(function () {
  const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
  // A response body is shown up to this many bytes: the page stays responsive whatever comes back.
  const MAX_SHOWN = 256 * 1024;
  const TIMEOUT_MS = 30000;
  const SCHEMAS = "#/components/schemas/";
  const body = document.body;
  const documentUrl = new URL(body.dataset.openapi, window.location.href);
  let doc = {};
  const usedIds = new Set();

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "text") node.textContent = String(value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  // -- the document: references and schemas -------------------------------------------

  function lookup(ref) {
    // A local JSON pointer ("#/components/schemas/Item"); undefined when it leads nowhere.
    if (typeof ref !== "string" || !ref.startsWith("#/")) return undefined;
    let node = doc;
    for (const part of ref.slice(2).split("/")) {
      const key = decodeURIComponent(part).replace(/~1/g, "/").replace(/~0/g, "~");
      if (node === null || typeof node !== "object" || !(key in node)) return undefined;
      node = node[key];
    }
    return node;
  }

  function deref(value) {
    // Parameters, bodies and responses may be references too; a chain is followed a few steps.
    for (let i = 0; i < 8 && value && typeof value === "object" && value.$ref; i++) {
      value = lookup(value.$ref);
    }
    return value || {};
  }

  function refName(ref) {
    return ref.startsWith(SCHEMAS) ? decodeURIComponent(ref.slice(SCHEMAS.length)) : ref;
  }

  function typeName(schema) {
    // One line: "integer", "array<string>", "Item", "string | null".
    if (schema === true || !schema || typeof schema !== "object") return "any";
    if (schema.$ref) return refName(schema.$ref);
    if ("const" in schema) return JSON.stringify(schema.const);
    if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
    const variants = schema.anyOf || schema.oneOf;
    if (Array.isArray(variants)) return variants.map(typeName).join(" | ");
    if (Array.isArray(schema.allOf)) return schema.allOf.map(typeName).join(" & ");
    const types = Array.isArray(schema.type) ? schema.type : [schema.type || (schema.properties ? "object" : "any")];
    return types.map((type) => {
      if (type === "array") {
        if (Array.isArray(schema.prefixItems)) return "[" + schema.prefixItems.map(typeName).join(", ") + "]";
        return "array<" + typeName(schema.items) + ">";
      }
      if (type === "object") {
        if (schema.title) return schema.title;
        const extra = schema.additionalProperties;
        return extra && typeof extra === "object" ? "object<string, " + typeName(extra) + ">" : "object";
      }
      return schema.format ? type + " (" + schema.format + ")" : type;
    }).join(" | ");
  }

  function describe(schema, depth, seen) {
    // Several lines: objects are spelled out with their fields, references resolved (once
    // per path through the schema, so a schema that contains itself stays finite).
    if (!schema || typeof schema !== "object") return typeName(schema);
    if (schema.$ref) {
      const name = refName(schema.$ref);
      const target = lookup(schema.$ref);
      if (seen.includes(name) || !target || depth > 6) return name;
      return describe(Object.assign({ title: name }, target), depth, seen.concat([name]));
    }
    const variants = schema.anyOf || schema.oneOf;
    if (Array.isArray(variants)) return variants.map((v) => describe(v, depth, seen)).join(" | ");
    const isArray = schema.type === "array" || (Array.isArray(schema.type) && schema.type.includes("array"));
    if (isArray && schema.items && typeof schema.items === "object" && !schema.prefixItems) {
      return "array of " + describe(schema.items, depth, seen);
    }
    if (!schema.properties || typeof schema.properties !== "object") return typeName(schema);
    const pad = "  ".repeat(depth + 1);
    const required = Array.isArray(schema.required) ? schema.required : [];
    const lines = Object.entries(schema.properties).map(([name, field]) => {
      const note = field && typeof field.description === "string" ? "  // " + field.description.split("\n")[0] : "";
      const mark = required.includes(name) ? "*" : "";
      return pad + name + mark + ": " + describe(field, depth + 1, seen) + note;
    });
    return (schema.title ? schema.title + " " : "") + "{\n" + lines.join("\n") + "\n" + "  ".repeat(depth) + "}";
  }

  function example(schema, seen) {
    // A value of the schema to start the request body from.
    if (!schema || typeof schema !== "object") return null;
    if (schema.$ref) {
      const name = refName(schema.$ref);
      return seen.includes(name) ? null : example(lookup(schema.$ref), seen.concat([name]));
    }
    if ("example" in schema) return schema.example;
    if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
    if ("default" in schema) return schema.default;
    if ("const" in schema) return schema.const;
    if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
    const variants = schema.anyOf || schema.oneOf;
    if (Array.isArray(variants)) {
      const chosen = variants.find((v) => !(v && v.type === "null")) || variants[0];
      return example(chosen, seen);
    }
    let type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
    if (!type && schema.properties) type = "object";
    switch (type) {
      case "object": {
        const value = {};
        for (const [name, field] of Object.entries(schema.properties || {})) value[name] = example(field, seen);
        return value;
      }
      case "array": {
        // Empty rather than [null] when the items have no example (a schema that contains itself).
        const item = schema.items && typeof schema.items === "object" ? example(schema.items, seen) : null;
        return item === null ? [] : [item];
      }
      case "string":
        if (schema.format === "date-time") return new Date().toISOString();
        if (schema.format === "date") return new Date().toISOString().slice(0, 10);
        if (schema.format === "uuid") return "00000000-0000-0000-0000-000000000000";
        return "string";
      case "integer":
      case "number":
        return 0;
      case "boolean":
        return false;
      default:
        return null;
    }
  }

  function isArraySchema(schema) {
    const resolved = deref(schema);
    return resolved.type === "array" || (Array.isArray(resolved.type) && resolved.type.includes("array"));
  }

  // -- where requests go ------------------------------------------------------------------

  function apiBase() {
    // The document's first server (relative to the document, as OpenAPI says), else the
    // application's root as the page knows it: so requests keep the prefix it is mounted at.
    const server = Array.isArray(doc.servers) && doc.servers.length ? doc.servers[0] : null;
    let url;
    if (server && typeof server.url === "string") {
      const vars = server.variables || {};
      const filled = server.url.replace(/\{([^}]+)\}/g, (m, n) => (vars[n] && vars[n].default) || m);
      url = new URL(filled, documentUrl);
    } else {
      url = new URL(body.dataset.root, window.location.href);
    }
    if (!url.pathname.endsWith("/")) url.pathname += "/";
    return url;
  }

  function fillPath(path, values) {
    // Template segments get the encoded value; the literal rest is encoded as a URL path.
    return path.split(/(\{[^}]*\})/).map((part) => {
      if (part.startsWith("{") && part.endsWith("}")) {
        const name = part.slice(1, -1);
        return name in values ? encodeURIComponent(values[name]) : part;
      }
      return encodeURI(part).replace(/\?/g, "%3F").replace(/#/g, "%23");
    }).join("");
  }

  async function readLimited(response) {
    if (!response.body) return { text: "", cut: false };
    const reader = response.body.getReader();
    const pieces = [];
    let size = 0;
    let cut = false;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      pieces.push(value);
      size += value.length;
      if (size > MAX_SHOWN) {
        cut = true;
        await reader.cancel();
        break;
      }
    }
    const all = new Uint8Array(Math.min(size, MAX_SHOWN));
    let offset = 0;
    for (const piece of pieces) {
      const part = piece.subarray(0, all.length - offset);
      all.set(part, offset);
      offset += part.length;
    }
    return { text: new TextDecoder().decode(all), cut: cut };
  }

  async function send(entry, fields, bodyField, result) {
    const values = {};
    const query = new URLSearchParams();
    const headers = new Headers();
    for (const [param, input] of fields) {
      const value = input.value;
      if (value === "") continue;
      if (param.in === "path") values[param.name] = value;
      else if (param.in === "query") {
        const items = isArraySchema(param.schema) ? value.split(",").map((v) => v.trim()) : [value];
        items.forEach((item) => query.append(param.name, item));
      } else if (param.in === "header") headers.set(param.name, value);
    }
    const url = new URL("./" + fillPath(entry.path, values).replace(/^\/+/, ""), apiBase());
    url.search = query.toString();
    const init = { method: entry.method.toUpperCase(), headers: headers, signal: AbortSignal.timeout(TIMEOUT_MS) };
    if (bodyField && !["GET", "HEAD"].includes(init.method)) {
      if (bodyField.form) {
        const data = new FormData();
        for (const [name, input] of bodyField.form) {
          if (input.type === "file") Array.from(input.files).forEach((file) => data.append(name, file));
          else if (input.value !== "") data.append(name, input.value);
        }
        init.body = data;  // the browser writes the multipart Content-Type with its boundary
      } else {
        headers.set("Content-Type", bodyField.mediaType);
        init.body = bodyField.input.value;
      }
    }
    result.hidden = false;
    result.replaceChildren(el("p", { class: "status", text: "Sending " + init.method + " " + url.href + " …" }));
    try {
      const response = await fetch(url, init);
      const read = await readLimited(response);
      let shown = read.text;
      const type = response.headers.get("Content-Type") || "";
      if (type.includes("json") && !read.cut) {
        try { shown = JSON.stringify(JSON.parse(read.text), null, 2); } catch (e) { /* shown as sent */ }
      }
      result.replaceChildren(
        el("p", { class: "status-line", text: response.status + " " + response.statusText }),
        el("p", { class: "note", text: init.method + " " + url.href + (type ? " → " + type : "") }),
        el("pre", { class: "body", text: shown + (read.cut ? "\n… (only the first 256 KiB shown)" : "") }));
    } catch (error) {
      result.replaceChildren(el("p", { class: "status-line error", text: "The request failed: " + error.message }));
    }
  }

  // -- rendering ---------------------------------------------------------------------------

  function parametersTable(params) {
    const rows = params.map((p) => {
      const schema = p.schema || {};
      const resolved = deref(schema);
      const fallback = "default" in resolved ? JSON.stringify(resolved.default) : "";
      return el("tr", { class: "param" },
        el("td", {}, el("code", { text: p.name })),
        el("td", { text: p.in }),
        el("td", {}, el("code", { text: typeName(schema) })),
        el("td", { class: p.required ? "required" : "", text: p.required ? "required" : "optional" }),
        el("td", {}, fallback ? el("code", { text: fallback }) : ""),
        el("td", { class: "text", text: p.description || "" }));
    });
    const head = el("tr", {}, ...["Name", "In", "Type", "Required", "Default", "Description"].map((h) => el("th", { text: h })));
    return el("table", { class: "parameters" }, el("thead", {}, head), el("tbody", {}, ...rows));
  }

  function contentBlock(content) {
    return Object.entries(content || {}).map(([mediaType, media]) => el("div", { class: "media" },
      el("code", { text: mediaType }),
      media && media.schema ? el("pre", { class: "schema", text: describe(media.schema, 0, []) }) : null));
  }

  function responsesTable(responses) {
    const rows = Object.entries(responses || {}).map(([status, response]) => {
      const resolved = deref(response);
      return el("tr", { class: "response" },
        el("td", {}, el("code", { text: status })),
        el("td", { class: "text", text: resolved.description || "" }),
        el("td", {}, ...contentBlock(resolved.content)));
    });
    const head = el("tr", {}, ...["Status", "Description", "Content"].map((h) => el("th", { text: h })));
    return el("table", { class: "responses" }, el("thead", {}, head), el("tbody", {}, ...rows));
  }

  function bodyForm(requestBody) {
    // The request body's field(s) of the "Try it" form, for its first usable media type.
    const content = requestBody.content || {};
    const types = Object.keys(content);
    const mediaType = types.find((t) => t.includes("json")) || types[0];
    if (!mediaType) return null;
    const schema = deref(content[mediaType].schema);
    if (mediaType === "multipart/form-data" && schema.properties) {
      const form = Object.entries(schema.properties).map(([name, field]) => {
        const resolved = deref(field);
        const binary = resolved.contentMediaType || resolved.format === "binary";
        return [name, el("input", { type: binary ? "file" : "text", name: name, "aria-label": name })];
      });
      return { mediaType: mediaType, form: form };
    }
    const start = mediaType.includes("json") ? JSON.stringify(example(content[mediaType].schema, []), null, 2) : "";
    const input = el("textarea", { class: "request-body", name: "body", "aria-label": "request body", required: !!requestBody.required });
    input.value = start;
    return { mediaType: mediaType, input: input };
  }

  function tryItForm(entry) {
    const form = el("form", { class: "try" }, el("h3", { text: "Try it" }));
    const fields = [];
    for (const param of entry.params) {
      if (param.in === "cookie") {
        form.append(el("p", { class: "note", text: "Cookie " + param.name + ": the browser sends its own cookies." }));
        continue;
      }
      const schema = deref(param.schema);
      const input = el("input", { type: "text", name: param.name, placeholder: typeName(param.schema), required: !!param.required });
      if ("default" in schema) input.value = Array.isArray(schema.default) ? schema.default.join(",") : String(schema.default);
      form.append(el("label", {}, el("span", { text: param.name + " (" + param.in + ")" }), input));
      fields.push([param, input]);
    }
    const requestBody = entry.op.requestBody ? deref(entry.op.requestBody) : null;
    const bodyField = requestBody ? bodyForm(requestBody) : null;
    if (bodyField && bodyField.form) {
      bodyField.form.forEach(([name, input]) => form.append(el("label", {}, el("span", { text: name + " (body)" }), input)));
    } else if (bodyField) {
      form.append(el("label", {}, el("span", { text: "body (" + bodyField.mediaType + ")" }), bodyField.input));
    }
    const result = el("div", { class: "result", hidden: true });
    form.append(el("button", { type: "submit", text: "Send" }), result);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send(entry, fields, bodyField, result);
    });
    return form;
  }

  function uniqueId(base) {
    // An operation with two tags is shown twice; each copy needs an id of its own.
    let id = base;
    for (let n = 2; usedIds.has(id); n++) id = base + "-" + n;
    usedIds.add(id);
    return id;
  }

  function operation(entry) {
    const op = entry.op;
    const id = uniqueId("op-" + String(op.operationId || entry.method + entry.path).replace(/[^\w-]/g, "_"));
    const details = el("details", { class: "op op-" + entry.method + (op.deprecated ? " deprecated" : ""), id: id },
      el("summary", {},
        el("span", { class: "method", text: entry.method.toUpperCase() }),
        el("code", { class: "path", text: entry.path }),
        el("span", { class: "summary", text: op.summary || "" })));
    const inner = el("div", { class: "op-body" });
    if (op.description) inner.append(el("p", { class: "text description", text: op.description }));
    if (entry.params.length) inner.append(el("h3", { text: "Parameters" }), parametersTable(entry.params));
    if (op.requestBody) {
      const requestBody = deref(op.requestBody);
      inner.append(el("h3", { text: "Request body" + (requestBody.required ? " (required)" : "") }),
        ...contentBlock(requestBody.content));
    }
    inner.append(el("h3", { text: "Responses" }), responsesTable(op.responses), tryItForm(entry));
    details.append(inner);
    return details;
  }

  function operations() {
    // [{path, method, op, params}], grouped by tag in the order of the document's "tags",
    // then of first use; an operation without tags goes under "default".
    const groups = new Map();
    for (const tag of Array.isArray(doc.tags) ? doc.tags : []) groups.set(tag.name, { tag: tag, entries: [] });
    for (const [path, rawItem] of Object.entries(doc.paths || {})) {
      const item = deref(rawItem);
      for (const method of METHODS) {
        const op = item[method];
        if (!op || typeof op !== "object") continue;
        // Operation parameters override the path's of the same name and location.
        const params = new Map();
        for (const p of (item.parameters || []).concat(op.parameters || [])) {
          const resolved = deref(p);
          params.set(resolved.in + ":" + resolved.name, resolved);
        }
        const entry = { path: path, method: method, op: op, params: Array.from(params.values()) };
        for (const tag of Array.isArray(op.tags) && op.tags.length ? op.tags : ["default"]) {
          if (!groups.has(tag)) groups.set(tag, { tag: { name: tag }, entries: [] });
          groups.get(tag).entries.push(entry);
        }
      }
    }
    return Array.from(groups.values()).filter((group) => group.entries.length);
  }

  function render() {
    const info = doc.info || {};
    if (info.title) {
      document.title = info.title;
      document.getElementById("title").textContent = info.title;
    }
    document.getElementById("version").textContent = info.version ? "v" + info.version : "";
    document.getElementById("description").textContent = info.description || "";
    const main = document.getElementById("operations");
    const groups = operations();
    if (!groups.length) {
      main.replaceChildren(el("p", { class: "status", id: "status", text: "The document has no operations." }));
      return;
    }
    main.replaceChildren(...groups.map((group) => el("section", { class: "tag", "data-tag": group.tag.name },
      el("h2", { text: group.tag.name }),
      group.tag.description ? el("p", { class: "text", text: group.tag.description }) : null,
      ...group.entries.map(operation))));
  }

  function fail(message) {
    const main = document.getElementById("operations");
    main.replaceChildren(el("p", { class: "status error", id: "status", text: message }));
    body.dataset.state = "error";
  }

  fetch(documentUrl, { headers: { Accept: "application/json" }, signal: AbortSignal.timeout(TIMEOUT_MS) })
    .then((response) => {
      if (!response.ok) throw new Error(response.status + " " + response.statusText);
      return response.json();
    })
    .then((loaded) => {
      doc = loaded && typeof loaded === "object" ? loaded : {};
      try {
        render();
        body.dataset.state = "ready";
      } catch (error) {
        fail("Could not render the OpenAPI document: " + error.message);
      }
    }, (error) => fail("Could not load the OpenAPI document " + documentUrl.href + ": " + error.message));
}());
