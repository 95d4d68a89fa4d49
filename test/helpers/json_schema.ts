// A small JSON Schema checker for the subset openapi_schemas.ts uses (type, properties, required,
// items, enum, anyOf, allOf, $ref into components): the list of places where a value breaks it.
type Schema = Record<string, any>;

export function schemaErrors(
  value: unknown,
  schema: Schema,
  components: Record<string, Schema>,
  at = "$",
): string[] {
  if (schema.$ref) {
    const name = String(schema.$ref).replace("#/components/schemas/", "");
    const target = components[name];
    return target ? schemaErrors(value, target, components, at) : [`${at}: unknown $ref ${schema.$ref}`];
  }
  if (schema.anyOf) {
    const tries = (schema.anyOf as Schema[]).map((s) => schemaErrors(value, s, components, at));
    return tries.some((errors) => errors.length === 0) ? [] : (tries[0] ?? []);
  }
  if (schema.allOf) return (schema.allOf as Schema[]).flatMap((s) => schemaErrors(value, s, components, at));
  const errors: string[] = [];
  if (schema.enum && !(schema.enum as unknown[]).includes(value))
    errors.push(`${at}: ${JSON.stringify(value)} not in enum`);
  switch (schema.type) {
    case "null":
      if (value !== null) errors.push(`${at}: expected null`);
      break;
    case "string":
      if (typeof value !== "string") errors.push(`${at}: expected string, got ${JSON.stringify(value)}`);
      else if (schema.format === "date-time" && Number.isNaN(Date.parse(value)))
        errors.push(`${at}: not a date-time`);
      else if (schema.format === "uuid" && !/^[0-9a-f-]{36}$/i.test(value)) errors.push(`${at}: not a uuid`);
      break;
    case "integer":
      if (!Number.isInteger(value)) errors.push(`${at}: expected integer, got ${JSON.stringify(value)}`);
      break;
    case "number":
      if (typeof value !== "number") errors.push(`${at}: expected number`);
      break;
    case "boolean":
      if (typeof value !== "boolean") errors.push(`${at}: expected boolean`);
      break;
    case "array":
      if (!Array.isArray(value)) errors.push(`${at}: expected array`);
      else {
        for (const [i, item] of value.entries()) {
          errors.push(...schemaErrors(item, schema.items ?? {}, components, `${at}[${i}]`));
        }
      }
      break;
    case "object": {
      if (!value || typeof value !== "object" || Array.isArray(value)) {
        errors.push(`${at}: expected object`);
        break;
      }
      const record = value as Record<string, unknown>;
      for (const key of (schema.required as string[] | undefined) ?? []) {
        if (!(key in record)) errors.push(`${at}.${key}: missing`);
      }
      for (const [key, sub] of Object.entries((schema.properties as Record<string, Schema>) ?? {})) {
        if (key in record) errors.push(...schemaErrors(record[key], sub, components, `${at}.${key}`));
      }
      if (schema.properties && !schema.additionalProperties) {
        for (const key of Object.keys(record)) {
          if (!(key in schema.properties)) errors.push(`${at}.${key}: not in the schema`);
        }
      }
      break;
    }
  }
  return errors;
}
