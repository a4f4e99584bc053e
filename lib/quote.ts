/** Shell quoting: every value in generated shell text goes through here. */

/** POSIX single-quoting: the shell passes the exact bytes, nothing inside is expanded. */
export function quote(s: string): string {
    if (s.includes("\0")) throw new Error("a shell word cannot contain a NUL byte");
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function quoteAll(words: readonly string[]): string {
    return words.map(quote).join(" ");
}

/** Ancestors of an absolute path, outermost first, without `/` itself and without the path. */
export function ancestors(p: string): string[] {
    const parts = p.split("/").filter(Boolean);
    return parts.slice(0, -1).map((_, i) => `/${parts.slice(0, i + 1).join("/")}`);
}
