/** Our views are synchronous (no async components), so an element is always a finished string. */
export function render(element: JSX.Element): string {
  if (typeof element !== "string") throw new Error("views must render synchronously");
  return element;
}
