/**
 * Copying text for the user. The webview may refuse the clipboard (WebKitGTK does without a
 * user gesture it trusts, or with the permission off): the caller is told, so it can select the
 * text for Ctrl+C instead of failing silently.
 *
 *     if (!(await copyText(dockerfile))) showSelected(dockerfile);
 */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard === undefined) return false;
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** Selects all of an element's text, ready for Ctrl+C. */
export function selectContents(element: HTMLElement): void {
  if (element instanceof HTMLTextAreaElement) {
    element.focus();
    element.select();
    return;
  }
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection?.removeAllRanges();
  selection?.addRange(range);
}
