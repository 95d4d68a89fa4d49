// Rows that a statement returned as `to_jsonb(table_alias)` (one statement doing several reads, see
// migrations/0012_apiperf.sql), turned into the objects drizzle would have returned for the same
// table: keys by field name, values through each column's own mapping (timestamps become Dates).
import { getTableColumns, type InferSelectModel, type Table } from "drizzle-orm";

export function rowFromJson<T extends Table>(table: T, json: unknown): InferSelectModel<T> | null {
  const source = typeof json === "string" ? JSON.parse(json) : json;
  if (source === null || source === undefined) return null;
  const record = source as Record<string, unknown>;
  const row: Record<string, unknown> = {};
  for (const [field, column] of Object.entries(getTableColumns(table))) {
    const value = record[column.name];
    row[field] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return row as InferSelectModel<T>;
}
