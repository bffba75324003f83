// A form built from the flat JSON schema of an MCP elicitation (string, number, integer,
// boolean and enum properties), and its value as the object that schema describes.

import { h } from "../dom.js";

const FORMATS = { email: "email", uri: "url", date: "date", "date-time": "datetime-local" };

function field(name, schema, required) {
  const label = schema.title || name;
  const enumValues = schema.enum || (schema.oneOf || []).map((o) => o.const);
  let input;
  if (schema.type === "boolean") {
    input = h("input", { type: "checkbox", name, checked: schema.default === true });
  } else if (enumValues.length && enumValues.every((v) => v !== undefined)) {
    const names = schema.enumNames || (schema.oneOf || []).map((o) => o.title);
    input = h("select", { name, required },
      required ? null : h("option", { value: "", text: "—" }),
      enumValues.map((v, i) => h("option", { value: String(v), text: (names && names[i]) || String(v),
        selected: schema.default === v })));
  } else if (schema.type === "number" || schema.type === "integer") {
    input = h("input", { type: "number", name, required, min: schema.minimum, max: schema.maximum,
      step: schema.type === "integer" ? "1" : "any", value: schema.default });
  } else {
    input = h("input", { type: FORMATS[schema.format] || "text", name, required,
      minlength: schema.minLength, maxlength: schema.maxLength, value: schema.default });
  }
  return h("label", { class: schema.type === "boolean" ? "check" : "field" },
    schema.type === "boolean" ? [input, ` ${label}`] : [h("span", { text: label }), input],
    schema.description ? h("small", { text: schema.description }) : null);
}

function read(input, schema) {
  if (schema.type === "boolean") return input.checked;
  if (input.value === "") return undefined;
  if (schema.type === "number") return Number(input.value);
  if (schema.type === "integer") return parseInt(input.value, 10);
  return input.value;
}

/** {node: <form>, value(): object} for `schema`. */
export function schemaForm(schema) {
  const properties = schema.properties || {};
  const required = new Set(schema.required || []);
  const node = h("form", { class: "schema-form" },
    Object.entries(properties).map(([name, prop]) => field(name, prop, required.has(name))));
  const value = () => {
    const out = {};
    for (const [name, prop] of Object.entries(properties)) {
      const input = node.elements.namedItem(name);
      const v = input ? read(input, prop) : undefined;
      if (v !== undefined) out[name] = v;
    }
    return out;
  };
  return { node, value };
}
